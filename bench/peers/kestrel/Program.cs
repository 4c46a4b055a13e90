// W7 HTTP server for Kestrel: a minimal API, GET / -> "Hello, World!" (text/plain); with --static DIR (W10S)
// also UseStaticFiles for DIR at /static.
//
//   dotnet Peers.Kestrel.dll --port P
//
// Listens on 127.0.0.1:P, prints READY once listening, exits 0 on SIGTERM or SIGINT (the host's own handling).
int port = 0;
string? staticDir = null;
for (int i = 0; i + 1 < args.Length; i++)
{
    if (args[i] == "--port")
    {
        port = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
    }
    if (args[i] == "--static")
    {
        staticDir = args[i + 1];
    }
}
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseKestrel(o => o.Listen(System.Net.IPAddress.Loopback, port));
var app = builder.Build();
if (staticDir is not null)
{
    // W10S: UseStaticFiles over the directory at /static.
    app.UseStaticFiles(new StaticFileOptions
    {
        FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(staticDir),
        RequestPath = "/static",
    });
}
app.MapGet("/", () => "Hello, World!");
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine("READY"));
app.Run();
