// W7 HTTP server for Kestrel: a minimal API, GET / -> "Hello, World!" (text/plain).
//
//   dotnet Peers.Kestrel.dll --port P
//
// Listens on 127.0.0.1:P, prints READY once listening, exits 0 on SIGTERM or SIGINT (the host's own handling).
int port = 0;
for (int i = 0; i + 1 < args.Length; i++)
{
    if (args[i] == "--port")
    {
        port = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseKestrel(o => o.Listen(System.Net.IPAddress.Loopback, port));
var app = builder.Build();
app.MapGet("/", () => "Hello, World!");
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine("READY"));
app.Run();
