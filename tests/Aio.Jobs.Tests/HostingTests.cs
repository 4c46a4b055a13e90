using Aio.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Aio.Jobs.Tests;

/// <summary>A scheduler in the Generic Host's loop: the host's stop cancels main, and the scheduler stops gracefully.</summary>
public sealed class HostingTests
{
    [Fact]
    public async Task GenericHost_Stop_RunInFlightFinishesThenMainEnds()
    {
        var log = new List<string>();
        void Log(string line)
        {
            lock (log)
            {
                log.Add(line);
            }
        }
        var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddAioLoop(async _ =>
        {
            var jobs = new Scheduler(new SchedulerOptions { StopGracePeriod = TimeSpan.FromSeconds(10) });
            jobs.Every(TimeSpan.FromHours(1), async () =>
            {
                Log("run starts");
                inFlight.TrySetResult();
                await Sleep(0.5);
                Log("run finishes");
            }, "hourly");
            try
            {
                await jobs.RunAsync();
            }
            finally
            {
                Log($"scheduler {jobs.State}, runs {jobs.Jobs[0].Statistics.Succeeded} succeeded");
            }
        });
        using IHost host = builder.Build();
        await host.StartAsync();
        await inFlight.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["run starts", "run finishes", "scheduler Stopped, runs 1 succeeded"], log);
    }
}
