using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Aio.Hosting.Tests;

public class AioHostedServiceTests
{
    private static IHost BuildHost(Func<IServiceProvider, Task> main, TimeSpan shutdownTimeout, Action<AioLoopOptions>? configure = null)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout);
        builder.Services.AddAioLoop(main, configure);
        return builder.Build();
    }

    [Fact]
    public async Task GenericHost_StartAndStop_RunsMainOnTheLoopAndCancelsItGracefully()
    {
        var log = new List<string>();
        var running = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using IHost host = BuildHost(async services =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            running.TrySetResult(Environment.CurrentManagedThreadId);
            try
            {
                await Asyncio.Sleep(3600);
            }
            catch (CancelledError)
            {
                lock (log)
                {
                    log.Add("cancelled");
                }
                // Graceful: cleanup that awaits still works in a shielded scope.
                await new CancelScope(shield: true).RunAsync(async () => await Asyncio.Sleep(0.05));
                lock (log)
                {
                    log.Add("cleaned up");
                }
                throw;
            }
        }, TimeSpan.FromSeconds(30));

        await host.StartAsync();
        AioHostedService service = host.Services.GetRequiredService<AioHostedService>();
        int loopThread = await running.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEqual(Environment.CurrentManagedThreadId, loopThread);
        Assert.NotNull(service.Loop);
        Assert.Equal(42, await Asyncio.RunCoroutineThreadSafe(async () =>
        {
            await Asyncio.Sleep(0);
            return 42;
        }, service.Loop!));

        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(service.Completion.IsCompleted);
        Assert.True(service.Loop!.IsClosed);
        Assert.Equal(["cancelled", "cleaned up"], log);
    }

    [Fact]
    public async Task GenericHost_MainIgnoresCancellationPastShutdownTimeout_HardStopReturns()
    {
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using IHost host = BuildHost(async _ =>
        {
            running.TrySetResult();
            // Refuses to stop: a shielded scope ignores every cancellation from outside.
            await new CancelScope(shield: true).RunAsync(async () => await Asyncio.Sleep(3600));
        }, TimeSpan.FromSeconds(0.3), o => o.HardStopGrace = TimeSpan.FromSeconds(0.3));

        await host.StartAsync();
        await running.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var watch = Stopwatch.StartNew();
        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"took {watch.Elapsed}");
    }

    [Fact]
    public async Task GenericHost_MainFails_StopsTheApplication()
    {
        using IHost host = BuildHost(async _ =>
        {
            await Asyncio.Sleep(0.01);
            throw new InvalidDataException("boom");
        }, TimeSpan.FromSeconds(30));
        IHostApplicationLifetime lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStopping.Register(() => stopping.TrySetResult());

        await host.StartAsync();
        await stopping.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task AddAioLoop_AsyncLambdaMainAwaitingWithConfigureAwaitFalse_IsTheMainTaskAndStaysOnTheLoop()
    {
        var log = new List<string>();
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddAioLoop(async services =>
        {
            int loopThread = Environment.CurrentManagedThreadId;
            AioTask? self = Asyncio.CurrentTask();
            await Task.Delay(1).ConfigureAwait(false);   // real: a foreign await that resumes off the loop is the point
            lock (log)
            {
                log.Add($"{self!.Name} on loop: {Environment.CurrentManagedThreadId == loopThread}, same task: {ReferenceEquals(self, Asyncio.CurrentTask())}");
            }
            running.TrySetResult();
            try
            {
                await Asyncio.Sleep(3600);
            }
            catch (CancelledError)
            {
                lock (log)
                {
                    log.Add("main cancelled");
                }
                throw;
            }
        });
        using IHost host = builder.Build();

        await host.StartAsync();
        await running.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["main on loop: True, same task: True", "main cancelled"], log);
    }
}
