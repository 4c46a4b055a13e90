using System.Text;

namespace Aio.Cli.Tests;

/// <summary>
/// An Aio.Http application on 127.0.0.1:0 running on its own loop and thread, so a command under test can run
/// its own loop (Runner) on the test thread. Routes: /ok (200 "hello"), /fail (500), /missing (404), /redirect
/// (302 to /ok), /slow (answers after 5 s), /flaky (alternates 200 and 503 by the `down` flag), /hook (records
/// webhook bodies).
/// </summary>
public sealed class LocalServer : IDisposable
{
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _ready = new();
    private EventLoop? _loop;
    private AioEvent? _stop;
    private Exception? _error;

    public LocalServer()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "local-server" };
        _thread.Start();
        if (!_ready.Wait(TimeSpan.FromSeconds(30)) || _error is not null)
        {
            throw new InvalidOperationException("The local server did not start.", _error);
        }
    }

    public int Port { get; private set; }

    public string Url(string path) => $"http://127.0.0.1:{Port}{path}";

    /// <summary>While true, /flaky answers 503.</summary>
    public bool Down { get => Volatile.Read(ref _down); set => Volatile.Write(ref _down, value); }

    private bool _down;

    public int Requests => _requests;

    private int _requests;

    /// <summary>Bodies POSTed to /hook, in order.</summary>
    public List<string> Hooks { get; } = [];

    private void Run()
    {
        try
        {
            using var runner = new Runner { HandleSignals = false };
            runner.Run(async () =>
            {
                _loop = EventLoop.GetRunningLoop();
                _stop = new AioEvent();
                var app = new Application();
                app.Use(async (request, next) =>
                {
                    Interlocked.Increment(ref _requests);
                    return await next(request);
                });
                app.Router.Get("/ok", _ => Response.Text("hello"));
                app.Router.Get("/fail", _ => Response.Text("boom", 500));
                app.Router.Get("/missing", _ => Response.Text("no", 404));
                app.Router.Get("/redirect", _ => Response.Redirect("/ok"));
                app.Router.Get("/slow", async _ =>
                {
                    await Sleep(5);
                    return Response.Text("late");
                });
                app.Router.Get("/flaky", _ => Down ? Response.Text("down", 503) : Response.Text("up"));
                app.Router.Post("/hook", async request =>
                {
                    string body = await request.TextAsync();
                    lock (Hooks)
                    {
                        Hooks.Add(body);
                    }
                    return Response.Status(204);
                });
                app.ShutdownGracePeriod = 0;
                await using HttpServer server = await app.StartAsync("127.0.0.1", 0);
                Port = server.Port;
                _ready.Set();
                await _stop.WaitAsync();
            });
        }
        catch (Exception e)
        {
            _error = e;
            _ready.Set();
        }
    }

    public void Dispose()
    {
        if (_loop is { } loop && _stop is { } stop)
        {
            try
            {
                loop.CallSoonThreadSafe(stop.Set);
            }
            catch (InvalidOperationException)
            {
            }
        }
        _thread.Join(TimeSpan.FromSeconds(30));
        _ready.Dispose();
    }
}
