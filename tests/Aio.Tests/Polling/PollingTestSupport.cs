using System.Net;
using System.Net.Sockets;
using Aio.Polling;

namespace Aio.Tests.Polling;

/// <summary>A connected TCP pair on 127.0.0.1, for readiness tests.</summary>
internal sealed class SocketPair : IDisposable
{
    private SocketPair(Socket client, Socket server)
    {
        Client = client;
        Server = server;
    }

    public Socket Client { get; }

    public Socket Server { get; }

    public static SocketPair Connect()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.Connect(listener.LocalEndPoint!);
        Socket server = listener.Accept();
        server.NoDelay = true;
        return new SocketPair(client, server);
    }

    /// <summary>Makes <see cref="Server"/> readable, and waits (bounded) until the byte has arrived.</summary>
    public SocketPair WithDataForServer()
    {
        Client.Send([42]);
        Assert.True(Server.Poll(TimeSpan.FromSeconds(2), SelectMode.SelectRead), "the byte sent on loopback did not arrive within 2 s");
        return this;
    }

    /// <summary>Closes <see cref="Client"/> with a reset, and waits (bounded) until the server side sees it.</summary>
    public void ResetFromClient()
    {
        Client.LingerState = new LingerOption(true, 0);
        Client.Close();
        Assert.True(Server.Poll(TimeSpan.FromSeconds(2), SelectMode.SelectRead), "the reset did not arrive within 2 s");
    }

    public void Dispose()
    {
        Client.Dispose();
        Server.Dispose();
    }
}

/// <summary>Records every readiness call, and optionally runs an action inside it.</summary>
internal sealed class RecordingHandler(string name, Action<IoEvents>? onReady = null) : IIoHandler
{
    public string Name { get; } = name;

    public List<IoEvents> Calls { get; } = [];

    public void OnIoReady(IoEvents events)
    {
        Calls.Add(events);
        onReady?.Invoke(events);
    }

    public override string ToString() => Name;
}

/// <summary>Collects what a poller reports to its error sink.</summary>
internal sealed class ErrorSink
{
    public List<(Exception Exception, IIoHandler Handler)> Errors { get; } = [];

    public void Report(Exception exception, IIoHandler handler) => Errors.Add((exception, handler));
}

/// <summary>A fact that runs only where the epoll back end exists.</summary>
internal sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "The epoll back end exists only on Linux.";
        }
    }
}

internal static class PollingTestSupport
{
    /// <summary>Every back end this OS has: the contract tests run over each.</summary>
    public static TheoryData<string> BackEnds
    {
        get
        {
            var data = new TheoryData<string>();
            if (OperatingSystem.IsLinux())
            {
                data.Add(PollerFactory.Epoll);
            }

            data.Add(PollerFactory.Portable);
            return data;
        }
    }

    public static IPoller Create(string backend, ErrorSink? sink = null) =>
        PollerFactory.Create((sink ?? new ErrorSink()).Report, backend);
}

/// <summary>Tests that measure the whole process (system call counts) run alone, after the others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideMeasurements
{
    public const string Name = "Process-wide measurements";
}
