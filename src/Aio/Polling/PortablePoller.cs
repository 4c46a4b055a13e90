using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Aio.Polling;

/// <summary>
/// The poller for any OS: no readiness registrations (sockets use .NET's async methods and post
/// their completions to the loop with <c>CallSoonThreadSafe</c>), so <see cref="Poll"/> only
/// waits for a <see cref="Wake"/> or the timeout. Belongs to one loop; only <see cref="Wake"/>
/// may be called from other threads.
/// </summary>
/// <remarks>
/// Wakes are coalesced as in <see cref="EpollPoller"/>: the first <see cref="Wake"/> after a drain
/// sets <c>_wakePending</c> and the event; later ones return at once; <see cref="Poll"/> resets the
/// event first and clears the flag second, so a wake is never left flagged without the event set.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
internal sealed class PortablePoller : IPoller
{
    private readonly ManualResetEventSlim _wakeEvent = new(initialState: false);
    private int _wakePending;         // 1 while a Wake() has set _wakeEvent and no Poll reset it
    private volatile bool _disposed;

    /// <summary>Creates a poller with nothing pending.</summary>
    /// <param name="errorSink">
    /// Accepted for symmetry with <see cref="EpollPoller"/>; never called, since there are no handlers.
    /// </param>
    public PortablePoller(Action<Exception, IIoHandler> errorSink)
    {
        ArgumentNullException.ThrowIfNull(errorSink);
    }

    /// <inheritdoc/>
    public string Name => PollerFactory.Portable;

    /// <inheritdoc/>
    public bool SupportsReadiness => false;

    /// <inheritdoc/>
    /// <remarks>Always 0.</remarks>
    public int RegistrationCount => 0;

    /// <summary>Always throws: this back end has no readiness registrations.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public void Register(SafeHandle fd, IoEvents interest, IIoHandler handler) =>
        PollerThrowHelper.NoReadiness(nameof(Register));

    /// <summary>Always throws: this back end has no readiness registrations.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public void Modify(SafeHandle fd, IoEvents interest) =>
        PollerThrowHelper.NoReadiness(nameof(Modify));

    /// <summary>Always throws: this back end has no readiness registrations.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public void Unregister(SafeHandle fd) =>
        PollerThrowHelper.NoReadiness(nameof(Unregister));

    /// <inheritdoc/>
    /// <remarks>Returns 0: there are no handlers to call.</remarks>
    public int Poll(int timeoutMs)
    {
        if (_disposed)
        {
            PollerThrowHelper.Disposed(this);
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(timeoutMs, -1);
        if (_wakeEvent.Wait(timeoutMs))
        {
            // Reset, then re-arm Wake: the other order could leave the flag set and the event
            // reset, and every later Wake would be skipped.
            _wakeEvent.Reset();
            Interlocked.Exchange(ref _wakePending, 0);
        }

        return 0;
    }

    /// <inheritdoc/>
    /// <remarks>After <see cref="Dispose"/>, or racing with it, this does nothing.</remarks>
    public void Wake()
    {
        if (Volatile.Read(ref _wakePending) != 0 || Interlocked.Exchange(ref _wakePending, 1) != 0 || _disposed)
        {
            return;
        }

        try
        {
            _wakeEvent.Set();
        }
        catch (ObjectDisposedException)
        {
            // Disposed between the check and the Set: there is no Poll left to wake.
        }
    }

    /// <summary>Releases the wait primitive. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _wakeEvent.Dispose();
    }

    /// <summary>asyncio-style description, e.g. <c>&lt;PortablePoller wake-pending&gt;</c>.</summary>
    public override string ToString() =>
        _disposed ? "<PortablePoller disposed>"
        : Volatile.Read(ref _wakePending) != 0 ? "<PortablePoller wake-pending>"
        : "<PortablePoller idle>";
}
