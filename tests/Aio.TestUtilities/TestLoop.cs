using Aio.Testing;

namespace Aio.TestUtilities;

/// <summary>
/// The one loop harness of the test projects. Every run goes through <see cref="AioTest.RunOn{T}"/>, so a test
/// body that returns with a task still pending, a callback still scheduled, or an error that reached the loop's
/// exception handler (unless the test collects those errors) fails.
/// </summary>
public static class TestLoop
{
    static TestLoop()
    {
        // RunOnThread blocks the calling test thread while the loop runs on its own; with two cores the pool would
        // otherwise start with two threads, both possibly blocked, and the portable back end's completions
        // (delivered on pool threads) would wait for the pool to grow – a harness artifact, not the product's.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(io, 32));
    }

    /// <summary>Runs <paramref name="body"/> on a new virtual-clock loop (hang detection on unless turned off).</summary>
    public static void Run(Func<Task> body, bool hangDetection = true) =>
        Run(async () => { await body(); return true; }, hangDetection);

    /// <summary>Runs <paramref name="body"/> on a new virtual-clock loop and returns its result.</summary>
    public static T Run<T>(Func<Task<T>> body, bool hangDetection = true)
    {
        var loop = new EventLoop(new VirtualClock()) { HangDetection = hangDetection };
        return AioTest.RunOn(loop, body);
    }

    /// <summary>
    /// Runs <paramref name="body"/> on a new real-clock loop with the I/O back end <paramref name="backEnd"/>, on a
    /// dedicated thread (no test framework scheduler or context around the loop), within
    /// <paramref name="timeoutSeconds"/> of real time. Errors reported to the loop's exception handler fail the
    /// test unless <paramref name="errors"/> collects them.
    /// </summary>
    public static void RunOnThread(string backEnd, Func<EventLoop, Task> body, double timeoutSeconds = 30, List<ExceptionContext>? errors = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                var loop = new EventLoop(MonotonicClock.Instance, backEnd);
                AioTest.RunOn(loop, async () =>
                {
                    if (errors is not null)
                    {
                        loop.ExceptionHandler = (_, ctx) => errors.Add(ctx); // expected errors: the test checks them
                    }
                    await Asyncio.FailAfter(timeoutSeconds, () => body(loop));
                    await Spin(5); // let queued ConnectionLost callbacks and closes run before the checks
                    return true;
                });
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        { IsBackground = true, Name = "aio-test-loop" };
        thread.Start();
        if (!thread.Join(TimeSpan.FromSeconds(timeoutSeconds + 30)))
        {
            throw new AioTestFailureException($"The loop thread did not finish within {timeoutSeconds + 30} s.");
        }
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
    }

    /// <summary>Yields <paramref name="n"/> loop iterations.</summary>
    public static async Task Spin(int n = 5)
    {
        for (int i = 0; i < n; i++)
        {
            await Asyncio.Sleep(0);
        }
    }
}
