using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Aio.Jobs.Redis.Tests;

/// <summary>
/// A private <c>redis-server</c> for one test class: a free loopback port, its own temporary data directory, no
/// snapshots (<c>--save ""</c>), AOF on request (fsync on every write, so a SIGKILL loses nothing acknowledged).
/// Stopped by its PID; the directory is deleted. Never touches another Redis process.
/// </summary>
public sealed class RedisServer : IDisposable
{
    private Process? _process;

    private RedisServer(bool appendOnly)
    {
        AppendOnly = appendOnly;
        Directory = Path.Combine(Path.GetTempPath(), "aio-redis-" + Guid.NewGuid().ToString("N")[..10]);
        System.IO.Directory.CreateDirectory(Directory);
        Port = FreePort();
    }

    /// <summary>The loopback port it listens on.</summary>
    public int Port { get; }

    /// <summary>Its data directory.</summary>
    public string Directory { get; }

    /// <summary>AOF persistence is on.</summary>
    public bool AppendOnly { get; }

    /// <summary>The server's PID (0 while stopped).</summary>
    public int Pid => _process is { HasExited: false } p ? p.Id : 0;

    /// <summary>A StackExchange.Redis configuration string for it.</summary>
    public string Configuration => $"127.0.0.1:{Port},abortConnect=false,connectRetry=20,connectTimeout=2000,syncTimeout=5000,asyncTimeout=5000";

    /// <summary>Starts a server and waits until it answers PING.</summary>
    public static RedisServer Start(bool appendOnly = false)
    {
        var server = new RedisServer(appendOnly);
        server.Launch();
        return server;
    }

    /// <summary>Connects a new multiplexer (the caller disposes it).</summary>
    public ConnectionMultiplexer Connect() => ConnectionMultiplexer.Connect(Configuration);

    /// <summary>Kills the server (SIGKILL) and starts it again on the same port and directory.</summary>
    public void Restart()
    {
        Kill();
        Launch();
    }

    /// <summary>Kills the server with SIGKILL and waits for it to exit.</summary>
    public void Kill()
    {
        if (_process is { } p)
        {
            if (!p.HasExited)
            {
                p.Kill();
                p.WaitForExit(10_000);
            }
            p.Dispose();
            _process = null;
        }
    }

    private void Launch()
    {
        var info = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", Directory, "--save", "", "--daemonize", "no",
                     "--appendonly", AppendOnly ? "yes" : "no", "--appendfsync", "always", "--protected-mode", "no" })
        {
            info.ArgumentList.Add(a);
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start; install it (apt-get install redis-server).");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        if (!Poll.Until(() => Ping() || _process.HasExited, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(20)) || _process.HasExited)
        {
            throw new InvalidOperationException($"redis-server on port {Port} did not answer PING within 15 s (exited: {_process.HasExited}).");
        }
    }

    private bool Ping()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            using NetworkStream stream = client.GetStream();
            stream.Write("PING\r\n"u8);
            var buffer = new byte[64];
            int n = stream.Read(buffer);
            return Encoding.ASCII.GetString(buffer, 0, n).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Stops the server and deletes its directory.</summary>
    public void Dispose()
    {
        Kill();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One Redis server and one connection shared by the tests of a class; each test uses its own key prefix.</summary>
public sealed class RedisFixture : IDisposable
{
    public RedisFixture()
    {
        Server = RedisServer.Start();
        Redis = Server.Connect();
    }

    public RedisServer Server { get; }

    public ConnectionMultiplexer Redis { get; }

    /// <summary>A key prefix no other test uses.</summary>
    public static string Prefix() => $"t{Guid.NewGuid().ToString("N")[..8]}:";

    public void Dispose()
    {
        Redis.Dispose();
        Server.Dispose();
    }
}
