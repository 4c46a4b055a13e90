using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Aio.Tests.Net;

/// <summary>Runs a network test body on a fresh real-clock loop of the given back end, on its own thread, bounded in time.</summary>
internal static class NetTest
{
    static NetTest()
    {
        // Run() blocks the calling test thread while the loop runs on its own; with two cores the pool would
        // otherwise start with two threads, both possibly blocked, and the portable back end's completions
        // (delivered on pool threads) would wait for the pool to grow – a harness artifact, not the product's.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(io, 32));
    }

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

    /// <summary>
    /// Runs <paramref name="body"/> on a new loop on a dedicated thread (so no test framework scheduler or
    /// context is around the loop), within <paramref name="timeoutSeconds"/> of real time. Errors reported to
    /// the loop's exception handler fail the test unless <paramref name="errors"/> collects them.
    /// </summary>
    public static void Run(string backEnd, Func<EventLoop, Task> body, double timeoutSeconds = 30, List<ExceptionContext>? errors = null)
    {
        Exception? failure = null;
        var unexpected = new List<ExceptionContext>();
        var thread = new Thread(() =>
        {
            try
            {
                using var loop = new EventLoop(MonotonicClock.Instance, backEnd);
                loop.ExceptionHandler = (_, ctx) =>
                {
                    if (errors is not null)
                    {
                        errors.Add(ctx);
                    }
                    else
                    {
                        unexpected.Add(ctx);
                    }
                };
                loop.RunUntilComplete(() => Asyncio.FailAfter(timeoutSeconds, () => body(loop)));
                // Let queued ConnectionLost callbacks and closes run before the loop closes.
                loop.RunUntilComplete(async () =>
                {
                    for (int i = 0; i < 5; i++)
                    {
                        await Asyncio.Sleep(0);
                    }
                });
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { IsBackground = true, Name = "aio-net-test" };
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(timeoutSeconds + 30)), $"The loop thread did not finish within {timeoutSeconds + 30} s.");
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
        Assert.True(unexpected.Count == 0, "Unexpected errors reported to the exception handler:\n" + string.Join("\n", unexpected));
    }

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
