using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Aio.Http.Testing;
using Aio.Http.Tests.Server;
using static Aio.Asyncio;

namespace Aio.Http.Tests.StaticFiles;

/// <summary>Static files over real sockets: raw request targets, sendfile on plain TCP (not TLS, not in memory), bounded memory.</summary>
public sealed class StaticSocketTests : IDisposable
{
    private readonly StaticSite _site = new();

    public void Dispose() => _site.Dispose();

    /// <summary>Sends <paramref name="head"/> as raw bytes (no client normalizes the target) and reads to the end.</summary>
    private static async Task<string> RawAsync(int port, string head, StreamOptions? options = null)
    {
        var (reader, writer) = await OpenConnectionAsync("127.0.0.1", port, options);
        writer.Write(Encoding.Latin1.GetBytes(head));
        string answer = Encoding.Latin1.GetString(await reader.ReadAsync());
        writer.Close();
        return answer;
    }

    [Theory]
    [MemberData(nameof(StaticPathTests.Escapes), MemberType = typeof(StaticPathTests))]
    [InlineData("/static/..\\outside\\secret.txt")]
    public void RawTarget_OverTcp_404(string target)
    {
        string answer = "";
        TestLoop.RunOnThread("epoll", async loop =>
        {
            HttpServer server = await _site.App().StartAsync("127.0.0.1", 0);
            answer = await RawAsync(server.Port, $"GET {target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
            await server.ShutdownAsync(1);
        });
        Assert.StartsWith("HTTP/1.1 404 ", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", answer, StringComparison.Ordinal);
    }

    private static List<string> FileSentModes(ListLoggerFactory logs) =>
        logs["Aio.Http.Server"].Entries.Where(e => e.Id.Id == 230)
            .Select(e => e.Message[..e.Message.IndexOf(" for ", StringComparison.Ordinal)] + e.Message[e.Message.LastIndexOf(" by ", StringComparison.Ordinal)..]).ToList();

    /// <summary>A file over the one-write threshold (32 KiB), so its body is sent by sendfile or copied.</summary>
    private byte[] MediumFile()
    {
        byte[] data = new byte[100_000];
        new Random(7).NextBytes(data);
        File.WriteAllBytes(Path.Combine(_site.Root, "medium.bin"), data);
        return data;
    }

    [Fact]
    public void Get_PlainTcp_SentWithSendfile()
    {
        byte[] data = MediumFile();
        var logs = new ListLoggerFactory();
        string answer = "";
        string small = "";
        TestLoop.RunOnThread("epoll", async loop =>
        {
            Application app = _site.App();
            app.LoggerFactory = logs;
            HttpServer server = await app.StartAsync("127.0.0.1", 0);
            answer = await RawAsync(server.Port, "GET /static/medium.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=10-50009\r\nConnection: close\r\n\r\n");
            small = await RawAsync(server.Port, "GET /static/data.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
            await server.ShutdownAsync(1);
        });
        Assert.Equal(data[10..50010], Encoding.Latin1.GetBytes(answer[(answer.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]));
        Assert.Equal(_site.Data, Encoding.Latin1.GetBytes(small[(small.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]));
        Assert.Equal(["Sent 50000 file bytes by sendfile."], FileSentModes(logs));   // the small file went with its head, in one write
    }

    [Fact]
    public void Get_InMemoryTestClient_Copied()
    {
        byte[] data = MediumFile();
        var logs = new ListLoggerFactory();
        TestLoop.Run(async () =>
        {
            Application app = _site.App();
            app.LoggerFactory = logs;
            await using var client = new TestClient(app);
            Assert.Equal(data, (await client.GetAsync("/static/medium.bin")).Body);
        });
        Assert.Equal(["Sent 100000 file bytes by copy."], FileSentModes(logs));
    }

    [Fact]
    public void Get_Tls_CopiedWithBoundedMemory()
    {
        const long size = 16L << 20;   // 1,024 TLS records of 16 KiB: enough to see the copy's memory stay flat
        string path = Path.Combine(_site.Root, "big-tls.bin");
        using (var f = new FileStream(path, FileMode.Create))
        {
            f.SetLength(size);
        }
        using X509Certificate2 cert = Certificate();
        var logs = new ListLoggerFactory();
        long received = 0;
        long allocated = 0;
        TestLoop.RunOnThread("epoll", async loop =>
        {
            Application app = _site.App();
            app.LoggerFactory = logs;
            HttpServer server = await app.StartAsync("127.0.0.1", 0, new ServerOptions { Ssl = new SslServerAuthenticationOptions { ServerCertificate = cert } });
            int port = server.Port;
            long before = GC.GetAllocatedBytesForCurrentThread();
            received = await ToThread(() => TlsDownload(port, cert, "/static/big-tls.bin"));
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            await server.ShutdownAsync(1);
        }, timeoutSeconds: 60);
        Assert.Equal(size, received);
        Assert.Equal([$"Sent {size} file bytes by copy."], FileSentModes(logs));
        Assert.InRange(allocated, 0, 8L << 20);   // generous: a copy of the file would be 16 MiB
    }

    [Fact]
    public void Get_Sparse256MiBOverTcp_SendfileWithBoundedMemory()
    {
        const long size = 256L << 20;   // thousands of sendfile calls; 1 GiB took 5–25 s of the suite for no more proof
        string path = Path.Combine(_site.Root, "huge.bin");
        using (var f = new FileStream(path, FileMode.Create))
        {
            f.SetLength(size);   // sparse: no disk space used
        }
        var logs = new ListLoggerFactory();
        long received = 0;
        long allocated = 0;
        TestLoop.RunOnThread("epoll", async loop =>
        {
            Application app = _site.App();
            app.LoggerFactory = logs;
            HttpServer server = await app.StartAsync("127.0.0.1", 0);
            int port = server.Port;
            long before = GC.GetAllocatedBytesForCurrentThread();
            received = await ToThread(() => PlainDownload(port, "/static/huge.bin"));
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            await server.ShutdownAsync(1);
        }, timeoutSeconds: 60);
        Assert.Equal(size, received);
        Assert.Equal([$"Sent {size} file bytes by sendfile."], FileSentModes(logs));
        Assert.InRange(allocated, 0, 1L << 20);   // the loop thread allocated almost nothing for 256 MiB
    }

    /// <summary>A blocking client on a worker thread: sends the request, reads and discards the body; returns its length.</summary>
    private static long PlainDownload(int port, string target)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect(IPAddress.Loopback, port);
        using var stream = new NetworkStream(socket);
        return Download(stream, target);
    }

    private static long TlsDownload(int port, X509Certificate2 cert, string target)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect(IPAddress.Loopback, port);
        using var ssl = new SslStream(new NetworkStream(socket), false, (_, c, _, _) => c is not null && c.GetCertHashString() == cert.GetCertHashString());
        ssl.AuthenticateAsClient("localhost");
        return Download(ssl, target);
    }

    private static long Download(Stream stream, string target)
    {
        stream.Write(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
        var buffer = new byte[256 * 1024];
        long total = 0;
        bool inBody = false;
        var head = new List<byte>();
        int n;
        while ((n = stream.Read(buffer)) > 0)
        {
            int start = 0;
            if (!inBody)
            {
                for (int i = 0; i < n; i++)
                {
                    head.Add(buffer[i]);
                    if (head.Count >= 4 && head[^1] == '\n' && head[^2] == '\r' && head[^3] == '\n' && head[^4] == '\r')
                    {
                        inBody = true;
                        start = i + 1;
                        break;
                    }
                }
                if (!inBody)
                {
                    continue;
                }
                Assert.StartsWith("HTTP/1.1 200 ", Encoding.ASCII.GetString(head.ToArray()), StringComparison.Ordinal);
            }
            total += n - start;
        }
        return total;
    }

    private static X509Certificate2 Certificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);   // not RSA: an RSA key takes up to seconds to make on a busy machine
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using X509Certificate2 c = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(c.Export(X509ContentType.Pkcs12), null);
    }
}
