using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Aio.Net.Internal;

namespace Aio.Tests.Net;

/// <summary>loop.SendFileAsync: sendfile(2) through the epoll reactor, the read+write fallback elsewhere.</summary>
public sealed class SendFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aio-sendfile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string MakeFile(int length, int seed = 1)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        string path = Path.Combine(_dir, $"f{seed}-{length}.bin");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Collects what the client receives; can hold reading (a slow reader).</summary>
    private sealed class Sink : IProtocol
    {
        public MemoryStream Received { get; } = new();

        public ITransport? Transport { get; private set; }

        public bool Lost { get; private set; }

        public bool Eof { get; private set; }

        public void ConnectionMade(ITransport transport) => Transport = transport;

        public void DataReceived(ReadOnlySpan<byte> data) => Received.Write(data);

        public bool EofReceived()
        {
            Eof = true;
            return false;
        }

        public void ConnectionLost(Exception? exception) => Lost = true;
    }

    /// <summary>A server whose accepted connection's transport the test drives, and a connected client.</summary>
    private static async Task<(Aio.Net.Server Server, ITransport ServerSide, Sink Client)> PairAsync(EventLoop loop, ServerOptions? options = null, SslClientAuthenticationOptions? clientSsl = null)
    {
        ITransport? accepted = null;
        Aio.Net.Server server = await loop.CreateServerAsync(() => new RecordingProtocol { OnMade = (_, t) => accepted = t, KeepOpenOnEof = true }, "127.0.0.1", 0, options);
        (_, Sink client) = await loop.CreateConnectionAsync(() => new Sink(), "127.0.0.1", NetTest.Port(server), new ConnectionOptions { Ssl = clientSsl });
        await NetTest.Until(() => accepted is not null, what: "the server accepted the connection");
        return (server, accepted!, client);
    }

    private static long NativeBytes(ITransport t) => t is ReactorSocketTransport r ? r.NativeSendFileBytes : 0;

    [Fact]
    public void SendFileAsync_OffsetAndCount_SendsThatRangeAfterBufferedWritesWithSendfile()
    {
        string path = MakeFile(1000);
        byte[] content = File.ReadAllBytes(path);
        NetTest.Run("epoll", async loop =>
        {
            var (server, side, client) = await PairAsync(loop);
            await using (server)
            {
                using var file = File.OpenHandle(path);
                side.Write("head:"u8);
                long sent = await loop.SendFileAsync(side, file, offset: 10, count: 100);
                side.Write(":tail"u8);
                side.Close();
                await NetTest.Until(() => client.Lost, what: "the client saw the end");
                Assert.Equal(100, sent);
                Assert.Equal([.. "head:"u8, .. content.AsSpan(10, 100), .. ":tail"u8], client.Received.ToArray());
                Assert.Equal(100, NativeBytes(side));
            }
        });
    }

    [Fact]
    public void SendFileAsync_NoCount_SendsToTheEndAndCountPastTheEndStopsThere()
    {
        string path = MakeFile(5000);
        byte[] content = File.ReadAllBytes(path);
        NetTest.Run("epoll", async loop =>
        {
            var (server, side, client) = await PairAsync(loop);
            await using (server)
            {
                using var file = File.OpenHandle(path);
                long a = await loop.SendFileAsync(side, file, offset: 4000);
                long b = await loop.SendFileAsync(side, file, offset: 4500, count: 9999);
                side.Close();
                await NetTest.Until(() => client.Lost, what: "the client saw the end");
                Assert.Equal((1000L, 500L), (a, b));
                Assert.Equal([.. content.AsSpan(4000), .. content.AsSpan(4500)], client.Received.ToArray());
            }
        });
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("portable")]
    public void SendFileAsync_FileLargerThanSocketBuffersToASlowReader_ArrivesWhole(string backEnd)
    {
        string path = MakeFile(16 << 20, seed: 2);
        byte[] hash = SHA256.HashData(File.ReadAllBytes(path));
        NetTest.Run(backEnd, async loop =>
        {
            var (server, side, client) = await PairAsync(loop);
            await using (server)
            {
                client.Transport!.PauseReading();
                using var file = File.OpenHandle(path);
                AioTask<long> sending = loop.CreateTask(() => loop.SendFileAsync(side, file));
                await Asyncio.Sleep(0.2);
                Assert.False(sending.Done);   // the reader holds back: the sender waits, its memory bounded by the socket buffers
                for (int i = 0; i < 20 && !sending.Done; i++)
                {
                    client.Transport.ResumeReading();
                    await Asyncio.Sleep(0.005);
                    client.Transport.PauseReading();
                    await Asyncio.Sleep(0.005);
                }
                client.Transport.ResumeReading();
                Assert.Equal(16L << 20, await sending);
                side.Close();
                await NetTest.Until(() => client.Lost, what: "the client saw the end");
                Assert.Equal(hash, SHA256.HashData(client.Received.ToArray()));
                Assert.Equal(backEnd == "epoll" ? 16L << 20 : 0, NativeBytes(side));
            }
        });
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("portable")]
    public void SendFileAsync_PeerResetsMidTransfer_ThrowsIOExceptionAndClosesTheTransport(string backEnd)
    {
        string path = MakeFile(32 << 20, seed: 3);
        NetTest.Run(backEnd, async loop =>
        {
            var (server, side, client) = await PairAsync(loop);
            await using (server)
            {
                client.Transport!.PauseReading();
                using var file = File.OpenHandle(path);
                AioTask<long> sending = loop.CreateTask(() => loop.SendFileAsync(side, file));
                await Asyncio.Sleep(0.1);
                client.Transport.Abort();
                await Assert.ThrowsAsync<IOException>(async () => await sending);
                Assert.True(side.IsClosing);
            }
        });
    }

    [Fact]
    public void SendFileAsync_CancelledWhileWaitingForTheReader_StopsAndTheTransportWritesAgain()
    {
        string path = MakeFile(32 << 20, seed: 4);
        NetTest.Run("epoll", async loop =>
        {
            var (server, side, client) = await PairAsync(loop);
            await using (server)
            {
                client.Transport!.PauseReading();
                using var file = File.OpenHandle(path);
                AioTask<long> sending = loop.CreateTask(() => loop.SendFileAsync(side, file));
                await Asyncio.Sleep(0.1);
                Assert.Throws<InvalidOperationException>(() => side.Write("x"u8));   // the file owns the sending side
                sending.Cancel();
                await Assert.ThrowsAsync<CancelledError>(async () => await sending);
                long native = NativeBytes(side);
                Assert.InRange(native, 1, (32L << 20) - 1);
                side.Write("x"u8);   // usable again (the peer got a prefix of the file: a real caller closes now)
                Assert.False(side.IsClosing);
                side.Abort();
            }
        });
    }

    [Fact]
    public void SendFileAsync_TlsTransport_CopiesAndWithoutFallbackThrowsNotSupported()
    {
        string path = MakeFile(3 << 20, seed: 5);
        byte[] content = File.ReadAllBytes(path);
        using X509Certificate2 cert = TestCertificate();
        NetTest.Run("epoll", async loop =>
        {
            var serverOptions = new ServerOptions { Ssl = new SslServerAuthenticationOptions { ServerCertificate = cert } };
            var clientSsl = new SslClientAuthenticationOptions { TargetHost = "localhost", RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && c.GetCertHashString() == cert.GetCertHashString() };
            var (server, side, client) = await PairAsync(loop, serverOptions, clientSsl);
            await using (server)
            {
                using var file = File.OpenHandle(path);
                Assert.False(side.CanSendFile());
                await Assert.ThrowsAsync<NotSupportedException>(() => loop.SendFileAsync(side, file, fallback: false));
                IBaseProtocol before = side.Protocol;
                side.Write("<"u8);
                long sent = await loop.SendFileAsync(side, file, 1, content.Length - 2);
                side.Write(">"u8);
                Assert.Same(before, side.Protocol);   // the copy's stand-in protocol is gone again
                await NetTest.Until(() => client.Received.Length == content.Length, what: "the client received the file");
                Assert.Equal(content.Length - 2, sent);
                Assert.Equal([.. "<"u8, .. content.AsSpan(1, content.Length - 2), .. ">"u8], client.Received.ToArray());
                side.Close();
            }
        });
    }

    private static X509Certificate2 TestCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);   // not RSA: an RSA key takes up to seconds to make on a busy machine
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using X509Certificate2 c = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(c.Export(X509ContentType.Pkcs12), null);
    }
}
