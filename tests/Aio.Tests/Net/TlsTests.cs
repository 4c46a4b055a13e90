using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Aio.Tests.Net;

/// <summary>TLS through SslStream on the loop: client and server, streams and protocols, StartTls.</summary>
public class TlsTests
{
    public static TheoryData<string> BackEnds => NetTest.BackEndData();

    private static readonly Lazy<X509Certificate2> s_certificate = new(CreateCertificate);

    /// <summary>A self-signed certificate for "localhost", made in the test (no files, no store).</summary>
    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using X509Certificate2 cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }

    private static SslServerAuthenticationOptions ServerOptions() => new() { ServerCertificate = s_certificate.Value };

    private static SslClientAuthenticationOptions ClientOptions() => new()
    {
        TargetHost = "localhost",
        // Trust exactly our test certificate.
        RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == s_certificate.Value.GetCertHashString(),
    };

    private static async Task EchoHandler(AioStreamReader reader, AioStreamWriter writer)
    {
        try
        {
            await foreach (byte[] line in reader)
            {
                writer.Write(line);
                await writer.DrainAsync();
            }
        }
        catch (IOException)
        {
            // The client gave up (an untrusted certificate, say).
        }
        writer.Close();
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Streams_TlsRoundTrip(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await Asyncio.StartServerAsync(EchoHandler, "127.0.0.1", 0, new StreamOptions { SslServer = ServerOptions() });
            var (reader, writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server), new StreamOptions { SslClient = ClientOptions() });
            Assert.IsType<SslStream>(writer.GetExtraInfo("sslstream"));
            Assert.NotNull(writer.GetExtraInfo("peercert"));
            Assert.NotNull(writer.GetExtraInfo("peername"));
            Assert.False(writer.CanWriteEof);
            var big = new string('x', 60_000);   // under the 64 KiB line limit, over several TLS records
            writer.Write(Encoding.ASCII.GetBytes("hello tls\n" + big + "\n"));
            await writer.DrainAsync();
            Assert.Equal("hello tls\n", Encoding.ASCII.GetString(await reader.ReadLineAsync()));
            Assert.Equal(big.Length + 1, (await reader.ReadUntilAsync("\n"u8.ToArray())).Length);
            writer.Close();
            await writer.WaitClosedAsync();
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Protocol_TlsClient_CallOrder(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await loop.CreateServerAsync(
                () => new RecordingProtocol { OnData = (p, d) => { p.Transport!.Write(d); p.Transport.Close(); } },
                "127.0.0.1", 0, new global::Aio.Net.ServerOptions { Ssl = ServerOptions() });
            var (transport, client) = await loop.CreateConnectionAsync(() => new RecordingProtocol(), "127.0.0.1", NetTest.Port(server),
                new ConnectionOptions { Ssl = ClientOptions() });
            Assert.StartsWith("<SslTransport open raw=<TcpTransport", transport.ToString());
            transport.Write(NetTest.Bytes("ping"));
            await NetTest.Until(() => client.Lost, what: "lost");
            Assert.Equal(["made", "data:ping", "eof", "lost:null"], client.Events);
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Handshake_UntrustedCertificate_FailsConnect(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await Asyncio.StartServerAsync(EchoHandler, "127.0.0.1", 0, new StreamOptions { SslServer = ServerOptions() });
            var strict = new SslClientAuthenticationOptions { TargetHost = "localhost" };   // system trust: our cert is not in it
            await Assert.ThrowsAsync<System.Security.Authentication.AuthenticationException>(
                () => Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server), new StreamOptions { SslClient = strict }));
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void StartTls_UpgradesAnOpenConnection(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            // A STARTTLS-like exchange: plaintext "STARTTLS\n", "GO\n", then TLS both ways.
            await using Server server = await Asyncio.StartServerAsync(async (reader, writer) =>
            {
                Assert.Equal("STARTTLS\n", Encoding.ASCII.GetString(await reader.ReadLineAsync()));
                writer.Write("GO\n"u8);
                await writer.StartTlsAsync(ServerOptions());
                byte[] secret = await reader.ReadLineAsync();
                writer.Write(Encoding.ASCII.GetBytes("secure:" + Encoding.ASCII.GetString(secret)));
                await writer.DrainAsync();
                writer.Close();
            }, "127.0.0.1", 0);
            var (reader, writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            writer.Write("STARTTLS\n"u8);
            Assert.Equal("GO\n", Encoding.ASCII.GetString(await reader.ReadLineAsync()));
            await writer.StartTlsAsync(ClientOptions());
            Assert.IsType<SslStream>(writer.GetExtraInfo("sslstream"));
            writer.Write("hush\n"u8);
            Assert.Equal("secure:hush\n", Encoding.ASCII.GetString(await reader.ReadLineAsync()));
            Assert.Empty(await reader.ReadAsync());
            writer.Close();
        });
    }
}
