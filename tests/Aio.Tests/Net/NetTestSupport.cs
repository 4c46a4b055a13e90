using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Aio.Tests.Net;

/// <summary>Runs a network test body on a fresh real-clock loop of the given back end, on its own thread, bounded in time.</summary>
internal static class NetTest
{
    public static readonly string[] BackEnds = OperatingSystem.IsLinux() ? ["epoll", "portable"] : ["portable"];

    public static TheoryData<string> BackEndData()
    {
        var data = new TheoryData<string>();
        foreach (string b in BackEnds)
        {
            data.Add(b);
        }
        return data;
    }

    /// <summary>Every (back end, address family) pair of the transport contract suite.</summary>
    public static TheoryData<string, string> TransportData()
    {
        var data = new TheoryData<string, string>();
        foreach (string b in BackEnds)
        {
            data.Add(b, "tcp");
            data.Add(b, "unix");
        }
        return data;
    }

    /// <summary>Runs <paramref name="body"/> on a new real-clock loop of <paramref name="backEnd"/> through the shared harness (<see cref="TestLoop.RunOnThread"/>).</summary>
    public static void Run(string backEnd, Func<EventLoop, Task> body, double timeoutSeconds = 30, List<ExceptionContext>? errors = null) =>
        TestLoop.RunOnThread(backEnd, body, timeoutSeconds, errors);

    public static string UnixPath() => Path.Combine("/tmp", $"aio-{Guid.NewGuid():N}.sock");

    /// <summary>Starts a server for <paramref name="family"/> ("tcp" on 127.0.0.1:0, or "unix" on a fresh path).</summary>
    public static async Task<Server> ServeAsync(EventLoop loop, string family, Func<IBaseProtocol> factory, ServerOptions? options = null) =>
        family == "unix"
            ? await loop.CreateUnixServerAsync(factory, UnixPath(), options)
            : await loop.CreateServerAsync(factory, "127.0.0.1", 0, options);

    /// <summary>Connects a protocol to <paramref name="server"/>'s first address.</summary>
    public static Task<(ITransport Transport, T Protocol)> ConnectAsync<T>(EventLoop loop, Server server, Func<T> factory) where T : IBaseProtocol =>
        server.Sockets[0] switch
        {
            IPEndPoint ip => loop.CreateConnectionAsync(factory, ip.Address.ToString(), ip.Port),
            UnixDomainSocketEndPoint unix => loop.CreateUnixConnectionAsync(factory, unix.ToString()),
            var other => throw new InvalidOperationException($"unexpected endpoint {other}"),
        };

    public static int Port(Server server) => ((IPEndPoint)server.Sockets[0]).Port;

    public static byte[] Bytes(string s) => Encoding.ASCII.GetBytes(s);

    public static string Text(ReadOnlySpan<byte> b) => Encoding.ASCII.GetString(b);

    /// <summary>Waits (yielding to the loop) until <paramref name="condition"/> holds, at most <paramref name="seconds"/>.</summary>
    public static async Task Until(Func<bool> condition, double seconds = 10, string? what = null)
    {
        double end = EventLoop.GetRunningLoop().Time() + seconds;
        while (!condition())
        {
            if (EventLoop.GetRunningLoop().Time() > end)
            {
                throw new TimeoutException($"Condition not met within {seconds} s: {what}");
            }
            await Asyncio.Sleep(0.001);
        }
    }
}

/// <summary>
/// A protocol that records its calls as strings ("made", "data:…", "eof", "pause", "resume", "lost:…"),
/// merging consecutive data so the split of the bytes into reads does not matter.
/// </summary>
internal class RecordingProtocol : IProtocol
{
    private readonly StringBuilder _data = new();

    public List<string> Events { get; } = [];

    public ITransport? Transport { get; private set; }

    public Exception? LostError { get; private set; }

    public bool Lost { get; private set; }

    public long BytesReceived { get; private set; }

    public bool KeepOpenOnEof { get; set; }

    public bool RecordData { get; set; } = true;

    public Action<RecordingProtocol, ITransport>? OnMade { get; set; }

    public Action<RecordingProtocol, byte[]>? OnData { get; set; }

    public Action<RecordingProtocol>? OnEof { get; set; }

    public virtual void ConnectionMade(ITransport transport)
    {
        Transport = transport;
        Events.Add("made");
        OnMade?.Invoke(this, transport);
    }

    public virtual void DataReceived(ReadOnlySpan<byte> data)
    {
        BytesReceived += data.Length;
        if (RecordData)
        {
            if (Events.Count == 0 || !Events[^1].StartsWith("data:", StringComparison.Ordinal))
            {
                Events.Add("data:");
                _data.Clear();
            }
            _data.Append(Encoding.ASCII.GetString(data));
            Events[^1] = "data:" + _data;
        }
        OnData?.Invoke(this, data.ToArray());
    }

    public virtual bool EofReceived()
    {
        Events.Add("eof");
        OnEof?.Invoke(this);
        return KeepOpenOnEof;
    }

    public virtual void ConnectionLost(Exception? exception)
    {
        Lost = true;
        LostError = exception;
        Events.Add(exception is null ? "lost:null" : $"lost:{exception.GetType().Name}");
    }

    public virtual void PauseWriting() => Events.Add("pause");

    public virtual void ResumeWriting() => Events.Add("resume");
}
