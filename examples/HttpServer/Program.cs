// HttpServer: a small JSON API on Aio.Http – routing, JSON in and out, a middleware, graceful shutdown.
//
//   dotnet run --project examples/HttpServer [port]      (default 8080; 0 lets the system choose)
//
//   curl http://127.0.0.1:8080/todos
//   curl -X POST http://127.0.0.1:8080/todos -d '{"title":"write docs"}'
//   curl http://127.0.0.1:8080/todos/1
//   curl http://127.0.0.1:8080/slow?seconds=3    (then press Ctrl+C: the request still completes)
//
// Ctrl+C or SIGTERM starts a graceful shutdown: the server stops accepting, closes idle connections, lets requests
// in flight finish (up to 10 s; their responses carry "Connection: close"), and the program exits with 0.
// A second Ctrl+C ends it at once.
using System.Globalization;
using Aio;
using Aio.Http;
using static Aio.Asyncio;

int port = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 8080;
Run(() => MainAsync(port));
Console.WriteLine("stopped");
return 0;

static async Task MainAsync(int port)
{
    var todos = new TodoStore();
    Application app = TodoApi.Create(todos);
    await app.RunAsync("127.0.0.1", port, started: server =>
        Console.WriteLine($"listening on http://127.0.0.1:{server.Port}"));
}

/// <summary>A to-do item.</summary>
internal sealed record Todo(int Id, string Title, bool Done);

/// <summary>What a client posts to create a to-do.</summary>
internal sealed record NewTodo(string Title);

/// <summary>The to-dos, in memory (the loop is single-threaded: no lock needed).</summary>
internal sealed class TodoStore
{
    private readonly Dictionary<int, Todo> _items = new();
    private int _next = 1;

    public IReadOnlyCollection<Todo> All => _items.Values;

    public Todo? Find(int id) => _items.GetValueOrDefault(id);

    public Todo Add(string title)
    {
        var todo = new Todo(_next++, title, false);
        _items[todo.Id] = todo;
        return todo;
    }
}

/// <summary>The application: its routes and its middleware.</summary>
internal static class TodoApi
{
    public static Application Create(TodoStore todos)
    {
        var app = new Application();

        // Routing: a method, a template with typed segments, a handler.
        app.Router.Get("/todos", _ => Response.Json(todos.All));
        app.Router.Get("/todos/{id:int}", req =>
            todos.Find(req.Route<int>("id")) is Todo todo
                ? Response.Json(todo)
                : throw new HttpException(404, "No such to-do."),
            name: "todo");
        app.Router.Post("/todos", async req =>
        {
            NewTodo? body = await req.JsonAsync<NewTodo>();
            if (string.IsNullOrWhiteSpace(body?.Title))
            {
                throw new HttpException(400, "A to-do needs a title.");
            }
            Todo todo = todos.Add(body.Title);
            var created = Response.Json(todo, status: 201);
            created.Headers["Location"] = app.Router.UrlFor("todo", ("id", todo.Id));
            return created;
        });

        // A request that takes a while: an in-flight request when you press Ctrl+C.
        app.Router.Get("/slow", async req =>
        {
            double seconds = double.Parse(req.Query["seconds"] ?? "2", CultureInfo.InvariantCulture);
            await Sleep(seconds);
            return Response.Text($"done after {seconds} s");
        });

        // A middleware: times every request and says who served it.
        app.Use(async (req, next) =>
        {
            double start = EventLoop.GetRunningLoop().Time();
            Response response = await next(req);
            response.Headers["X-Served-By"] = "aio";
            response.Headers["Server-Timing"] = $"app;dur={(EventLoop.GetRunningLoop().Time() - start) * 1000:0.0}";
            return response;
        });
        return app;
    }
}
