// Uses one thing from each Aio package, compiled against the packages alone; prints one line per package and
// "consumer: ok" at the end (.ci/pack-check checks that line).
extern alias XunitV3;
using Aio;
using Aio.Http;
using Aio.Http.Testing;
using Aio.Jobs;
using Aio.Testing;
using Aio.Testing.Xunit;
using static Aio.Asyncio;

Run(async () =>
{
    AioTask<int> a = CreateTask(async () => { await Sleep(0.01); return 1; });
    AioTask<int> b = CreateTask(async () => { await Sleep(0.01); return 2; });
    int[] both = await Gather(a, b);
    Console.WriteLine($"Aio: gathered {string.Join(",", both)}");

    var app = new Application();
    app.Router.Get("/hello", _ => Response.Text("hello from Aio.Http"));
    await using var client = new TestClient(app);
    TestResponse response = await client.GetAsync("/hello");
    Console.WriteLine($"Aio.Http: {response.Status} {response.Text}");
});

double virtualTime = LoopTestRunner.Run(async () =>
{
    var jobs = new Scheduler();
    int runs = 0;
    jobs.Every(TimeSpan.FromMinutes(10), async _ => { runs++; await Sleep(1); }, "tick");
    AioTask scheduler = CreateTask(() => jobs.RunAsync(), "scheduler");
    await Sleep(3600);
    await jobs.StopAsync();
    await scheduler;
    Console.WriteLine($"Aio.Jobs: {runs} runs in an hour of virtual time");
    return EventLoop.GetRunningLoop().Time();
}, new LoopTestOptions { Timeout = 7200 });
Console.WriteLine($"Aio.Testing: finished at t={virtualTime}");

try
{
    LoopTestRunner.Run(async () => { _ = CreateTask(async () => await Sleep(100), "forgotten"); await Sleep(1); });
}
catch (AioTestFailureException e)
{
    Console.WriteLine($"Aio.Testing: {e.Kind}");
}

Console.WriteLine($"Aio.Testing.Xunit: {new LoopFactAttribute().LoopTimeout} s default deadline");
var v3Theory = new XunitV3::Aio.Testing.Xunit.LoopTheoryAttribute { LoopTimeout = 5 };
Console.WriteLine($"Aio.Testing.Xunit.V3: {v3Theory.LoopTimeout} s deadline");
Console.WriteLine($"Aio.Hosting: {typeof(Aio.Hosting.AioHostedService).Name}");
Console.WriteLine($"Aio.Jobs.Redis: {typeof(Aio.Jobs.Redis.JobQueue).Name}");
Console.WriteLine("consumer: ok");
