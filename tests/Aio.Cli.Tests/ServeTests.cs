using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aio.Cli.Serve;
using Aio.Net;
using Aio.Os;

namespace Aio.Cli.Tests;

/// <summary><c>aio serve</c> as a real process on port 0 against a temporary directory, stopped by SIGINT and SIGTERM.</summary>
public sealed partial class ServeTests : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("aio-serve-").FullName;
    private readonly string _root;
    private const int BigSize = 32 << 20;   // more than loopback's socket buffers hold: the download is in flight at the signal

    public ServeTests()
    {
        _root = Path.Combine(_base, "root");
        Directory.CreateDirectory(Path.Combine(_root, "sub"));
        Directory.CreateDirectory(Path.Combine(_root, "site"));
        File.WriteAllText(Path.Combine(_base, "secret.txt"), "SECRET");
        File.WriteAllText(Path.Combine(_root, "hello.txt"), "Hello");
        File.WriteAllText(Path.Combine(_root, "a b&c.txt"), "x");
        File.WriteAllText(Path.Combine(_root, ".env"), "PASSWORD=x");
        File.WriteAllText(Path.Combine(_root, "sub", "inner.txt"), "inner");
        File.WriteAllText(Path.Combine(_root, "site", "index.html"), "<p>index</p>");
        using (FileStream big = File.Create(Path.Combine(_root, "big.bin")))
        {
            big.SetLength(BigSize);
        }
    }

    public void Dispose() => Directory.Delete(_base, recursive: true);

    [GeneratedRegex(@"^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] (.*) \d+(\.\d+)?ms$")]
    private static partial Regex AccessLine();

    private static async Task<AioProcess> StartAsync(params string[] args) =>
        await Asyncio.CreateSubprocessExecAsync(ExampleProgram.Dotnet, [ExampleProgram.Find("Aio.Cli", "src"), "serve", .. args],
            new ProcessOptions { Stdout = ProcessStdio.Pipe, Stderr = ProcessStdio.Pipe, TerminateGracePeriod = 1 });

    private static async Task<string> Line(AioProcess p) =>
        ExampleProgram.Line(await Asyncio.FailAfter(60, () => p.Stdout!.ReadLineAsync()));

    /// <summary>One raw request (the target exactly as given, no client normalising it); the status line, the Location field, the body.</summary>
    private static async Task<(string Status, string? Location, string Body)> GetAsync(int port, string target)
    {
        (AioStreamReader reader, AioStreamWriter writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", port);
        writer.Write(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
        await writer.DrainAsync();
        string all = Encoding.UTF8.GetString(await Asyncio.FailAfter(30, () => reader.ReadAsync(-1)));
        writer.Close();
        int end = all.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        string[] head = all[..end].Split("\r\n");
        string? location = head.FirstOrDefault(h => h.StartsWith("Location: ", StringComparison.Ordinal))?["Location: ".Length..];
        return (head[0], location, all[(end + 4)..]);
    }

    [Fact]
    public void Serve_Listing_FilesListingsTraversalAccessLog_SigintLetsTheDownloadFinish_Exit0()
    {
        var (seen, listingRoot, listingSub, rest, error, code) = Asyncio.Run(async () =>
        {
            AioProcess p = await StartAsync(_root, "--port", "0", "--listing");
            string first = await Line(p);
            Match m = Regex.Match(first, @"^serving (.+) on http://127\.0\.0\.1:(\d+)/ with directory listings; Ctrl\+C stops$");
            Assert.True(m.Success, first);
            Assert.Equal(_root, m.Groups[1].Value);
            int port = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
            var seen = new List<string>();
            foreach (string target in new[] { "/hello.txt", "/../secret.txt", "/%2e%2e/secret.txt", "/.env", "/sub", "/site/" })
            {
                (string status, string? location, string body) = await GetAsync(port, target);
                seen.Add($"{target} {status} {location ?? "-"} {body}");
            }
            (_, _, string listingRoot) = await GetAsync(port, "/");
            (_, _, string listingSub) = await GetAsync(port, "/sub/");

            // A download in flight when SIGINT comes: the server stops accepting but lets it finish (grace 10 s).
            (AioStreamReader reader, AioStreamWriter writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", port);
            writer.Write("GET /big.bin HTTP/1.1\r\nHost: test\r\n\r\n"u8);
            byte[] head = await Asyncio.FailAfter(30, () => reader.ReadUntilAsync("\r\n\r\n"u8.ToArray()));
            long received = (await reader.ReadExactlyAsync(64 * 1024)).Length;
            p.SendSignal(2);
            await Asyncio.Sleep(0.5);
            seen.Add($"running after SIGINT: {p.ReturnCode is null}");
            while (await Asyncio.FailAfter(30, () => reader.ReadAsync(1 << 20)) is { Length: > 0 } chunk)
            {
                received += chunk.Length;
            }
            writer.Close();
            seen.Add($"{Encoding.ASCII.GetString(head).Split("\r\n")[0]} {received} bytes");
            var (stdout, stderr) = await Asyncio.FailAfter(60, () => p.CommunicateAsync());
            return (seen, listingRoot, listingSub, Encoding.UTF8.GetString(stdout!), Encoding.UTF8.GetString(stderr!), p.ReturnCode);
        });
        Assert.Equal(
            [
                "/hello.txt HTTP/1.1 200 OK - Hello",
                "/../secret.txt HTTP/1.1 404 Not Found - 404 Not Found",
                "/%2e%2e/secret.txt HTTP/1.1 404 Not Found - 404 Not Found",
                "/.env HTTP/1.1 404 Not Found - 404 Not Found",
                "/sub HTTP/1.1 301 Moved Permanently /sub/ ",
                "/site/ HTTP/1.1 200 OK - <p>index</p>",
                "running after SIGINT: True",
                $"HTTP/1.1 200 OK {BigSize} bytes",
            ],
            seen);
        // The root's listing: directories first, no parent link, names escaped in the text and the link, no dotfile.
        Assert.Equal(
            [
                "<tr><td><a href=\"site/\">site/</a></td><td>-</td>",
                "<tr><td><a href=\"sub/\">sub/</a></td><td>-</td>",
                "<tr><td><a href=\"a%20b%26c.txt\">a b&amp;c.txt</a></td><td>1</td>",
                $"<tr><td><a href=\"big.bin\">big.bin</a></td><td>{BigSize}</td>",
                "<tr><td><a href=\"hello.txt\">hello.txt</a></td><td>5</td>",
            ],
            Rows(listingRoot));
        Assert.Equal(["<tr><td><a href=\"../\">../</a></td><td></td>", "<tr><td><a href=\"inner.txt\">inner.txt</a></td><td>5</td>"], Rows(listingSub));
        Assert.Equal("", error);
        string[] lines = rest.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
            [
                "\"GET /hello.txt\" 200 5",
                "\"GET /../secret.txt\" 404 13",
                "\"GET /%2e%2e/secret.txt\" 404 13",
                "\"GET /.env\" 404 13",
                "\"GET /sub\" 301 0",
                "\"GET /site/\" 200 12",
                $"\"GET /\" 200 {Encoding.UTF8.GetByteCount(listingRoot)}",
                $"\"GET /sub/\" 200 {Encoding.UTF8.GetByteCount(listingSub)}",
                $"\"GET /big.bin\" 200 {BigSize}",
                "stopped: 9 request(s) served",
            ],
            lines.Select(l => AccessLine().Match(l) is { Success: true } a ? a.Groups[1].Value : l));
        Assert.Equal(0, code);
    }

    private static List<string> Rows(string html) =>
        [.. html.Split('\n').Where(l => l.StartsWith("<tr><td>", StringComparison.Ordinal)).Select(l => l[..(l.LastIndexOf("<td>", StringComparison.Ordinal))])];

    [Fact]
    public void Serve_JsonWithoutListing_DirectoryIs404_JsonLines_SigtermExit0()
    {
        var (first, statuses, rest, error, code) = Asyncio.Run(async () =>
        {
            AioProcess p = await StartAsync(_root, "--port", "0", "--json");
            string first = await Line(p);
            int port = new Uri(JsonDocument.Parse(first).RootElement.GetProperty("url").GetString()!).Port;
            var statuses = new List<string>();
            foreach (string target in new[] { "/sub/", "/", "/hello.txt?x=1" })
            {
                statuses.Add((await GetAsync(port, target)).Status);
            }
            p.Terminate();
            var (stdout, stderr) = await Asyncio.FailAfter(60, () => p.CommunicateAsync());
            return (first, statuses, Encoding.UTF8.GetString(stdout!), Encoding.UTF8.GetString(stderr!), p.ReturnCode);
        });
        using (JsonDocument listening = JsonDocument.Parse(first))
        {
            Assert.Equal("listening", listening.RootElement.GetProperty("event").GetString());
            Assert.Equal(_root, listening.RootElement.GetProperty("root").GetString());
            Assert.False(listening.RootElement.GetProperty("listing").GetBoolean());
        }
        Assert.Equal(["HTTP/1.1 404 Not Found", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"], statuses);
        Assert.Equal("", error);
        var events = new List<string>();
        foreach (string line in rest.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            JsonElement e = doc.RootElement;
            events.Add(e.GetProperty("event").GetString() == "request"
                ? $"{e.GetProperty("remote").GetString()!.Split(':')[0]} {e.GetProperty("method").GetString()} {e.GetProperty("target").GetString()} " +
                  $"{e.GetProperty("status").GetInt32()} {e.GetProperty("bytes").GetInt64()} {e.GetProperty("duration_ms").GetDouble() >= 0} " +
                  $"{DateTimeOffset.Parse(e.GetProperty("time").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.AddMinutes(-5)}"
                : $"{e.GetProperty("event").GetString()} {e.GetProperty("requests").GetInt64()}");
        }
        Assert.Equal(
            [
                "127.0.0.1 GET /sub/ 404 13 True True",
                "127.0.0.1 GET / 404 13 True True",
                "127.0.0.1 GET /hello.txt?x=1 200 5 True True",
                "stopped 3",
            ],
            events);
        Assert.Equal(0, code);
    }

    [Fact]
    public void Serve_PortInUse_SaysWhichAddress_Exit1()
    {
        var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
            CliResult r = CliHarness.Run(["serve", _root, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            Assert.Equal(1, r.ExitCode);
            Assert.StartsWith($"aio: cannot listen on 127.0.0.1:{port}: ", r.Error, StringComparison.Ordinal);
            Assert.Contains("Choose another --port (0 picks a free one) or --host.", r.Error, StringComparison.Ordinal);
        }
        finally
        {
            taken.Stop();
        }
    }

    [Fact]
    public void CommonLogLine_IPv4AndIPv6Remotes_HostOnlyAndTheDuration()
    {
        var at = new DateTimeOffset(2026, 12, 3, 16, 20, 5, TimeSpan.Zero);
        Assert.Equal(
            [
                "127.0.0.1 - - [03/Dec/2026:16:20:05 +0000] \"GET /a%20b\" 200 1234 1.5ms",
                "::1 - - [03/Dec/2026:16:20:05 +0000] \"HEAD /\" 304 0 0ms",
            ],
            [
                ServeCommand.CommonLogLine(new AccessEntry(at, "127.0.0.1:50000", "GET", "/a%20b", 200, 1234, 1.5)),
                ServeCommand.CommonLogLine(new AccessEntry(at, "[::1]:50000", "HEAD", "/", 304, 0, 0)),
            ]);
    }
}
