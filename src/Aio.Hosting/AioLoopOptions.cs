namespace Aio.Hosting;

/// <summary>How <see cref="AioHostedService"/> runs its loop inside the host.</summary>
public sealed class AioLoopOptions
{
    /// <summary>Debug mode for the loop; null follows <c>AIO_DEBUG</c>. Debug mode also turns on the watchdog.</summary>
    public bool? Debug { get; set; }

    /// <summary>The name of the loop's thread (shown in debuggers and dumps). Default "Aio loop".</summary>
    public string ThreadName { get; set; } = "Aio loop";

    /// <summary>
    /// After the host's shutdown timeout (<c>HostOptions.ShutdownTimeout</c>) has passed with the main task still
    /// running, every task of the loop is cancelled; this is how long that hard cancellation may take before the loop
    /// is stopped and its thread abandoned (it is a background thread). Default 2 seconds.
    /// </summary>
    public TimeSpan HardStopGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Whether the host stops when the main coroutine ends on its own (returns or fails). Default true.</summary>
    public bool StopApplicationWhenMainEnds { get; set; } = true;

    /// <summary>Called on the loop thread before the main coroutine starts, to configure the loop (watchdog, executor size…).</summary>
    public Action<EventLoop>? ConfigureLoop { get; set; }
}
