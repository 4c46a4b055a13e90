// docs/hosting.md: an Aio loop inside the .NET Generic Host, and another thread reaching it.
//   dotnet run --project examples/Hosting -c Release      (Ctrl+C stops the host and cancels the main coroutine)
//   dotnet run --project examples/Hosting -c Release -- http    (an Aio.Http application as the host's service: HttpHost.cs)
using Aio;
using Aio.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

if (args.FirstOrDefault() == "http")
{
    await HttpHost.RunAsync(args[1..]);
    return;
}

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Services.AddAioLoop(async services =>
{
    while (true)
    {
        // the application's loop-side work: periodic jobs, servers, subprocesses…
        await Asyncio.Sleep(5);
    }
}, options => options.ConfigureLoop = loop => loop.WatchdogEnabled = true);
using IHost app = builder.Build();
await app.StartAsync();

AioHostedService aio = app.Services.GetRequiredService<AioHostedService>();
int answer = await Asyncio.RunCoroutineThreadSafe(async () => { await Asyncio.Sleep(0); return 42; }, aio.Loop!);
Console.WriteLine($"the loop answered {answer}; press Ctrl+C to stop");

await app.WaitForShutdownAsync();
