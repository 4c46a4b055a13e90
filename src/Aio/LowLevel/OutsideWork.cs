namespace Aio.LowLevel;

/// <summary>How outside work (a thread, a socket operation, a foreign task) holds the loop's virtual clock and hang detector.</summary>
public enum OutsideWorkKind
{
    /// <summary>
    /// Work that may or may not deliver (a foreign task, a socket operation in flight, a peer): a
    /// <see cref="VirtualClock"/> gives it <see cref="VirtualClock.ForeignWaitThreshold"/> of real time,
    /// then jumps; the hang detector never reports a deadlock while it is pending.
    /// </summary>
    Foreign,

    /// <summary>
    /// Work that will report back to the loop for sure (an executor item): a virtual clock does not jump while
    /// it is pending, so a timeout cannot fire before the work's own result arrives.
    /// </summary>
    Reporting,
}

/// <summary>
/// Tells the loop about work that runs outside it and will later make something ready (Trio's
/// <c>trio.lowlevel</c> has the same need): begin it before handing work to a thread or the OS, end it when the
/// result is back on the loop. Without it a <see cref="VirtualClock"/> would jump past a pending reply and
/// the hang detector would report a deadlock. Loop thread only; every begin needs exactly one end.
/// </summary>
public static class OutsideWorkExtensions
{
    /// <summary>Counts one piece of outside work of <paramref name="kind"/> as pending on <paramref name="loop"/>.</summary>
    /// <param name="loop">The loop that will receive the result.</param>
    /// <param name="kind">How the work holds virtual time.</param>
    public static void BeginOutsideWork(this EventLoop loop, OutsideWorkKind kind)
    {
        ArgumentNullException.ThrowIfNull(loop);
        loop.CheckThread(nameof(BeginOutsideWork));
        loop.BeginOutsideWork(kind);
    }

    /// <summary>Counts one piece of outside work of <paramref name="kind"/> as finished (once per begin).</summary>
    /// <param name="loop">The loop that received the result.</param>
    /// <param name="kind">The kind it began with.</param>
    public static void EndOutsideWork(this EventLoop loop, OutsideWorkKind kind)
    {
        ArgumentNullException.ThrowIfNull(loop);
        loop.CheckThread(nameof(EndOutsideWork));
        loop.EndOutsideWork(kind);
    }

    /// <summary>
    /// Begins outside work and returns a scope that ends it once when disposed:
    /// <c>using var _ = loop.TrackOutsideWork(OutsideWorkKind.Foreign);</c>.
    /// </summary>
    /// <param name="loop">The loop that will receive the result.</param>
    /// <param name="kind">How the work holds virtual time.</param>
    public static OutsideWorkScope TrackOutsideWork(this EventLoop loop, OutsideWorkKind kind)
    {
        loop.BeginOutsideWork(kind);
        return new OutsideWorkScope(loop, kind);
    }
}

/// <summary>A piece of outside work begun by <see cref="OutsideWorkExtensions.TrackOutsideWork"/>; disposing it ends the work once.</summary>
public struct OutsideWorkScope : IDisposable
{
    private EventLoop? _loop;
    private readonly OutsideWorkKind _kind;

    internal OutsideWorkScope(EventLoop loop, OutsideWorkKind kind)
    {
        _loop = loop;
        _kind = kind;
    }

    /// <summary>Ends the work (a second call on the same variable does nothing).</summary>
    public void Dispose()
    {
        if (_loop is { } loop)
        {
            _loop = null;
            loop.EndOutsideWork(_kind);
        }
    }
}
