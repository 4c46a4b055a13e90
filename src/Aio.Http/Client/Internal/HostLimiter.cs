namespace Aio.Http.Client.Internal;

/// <summary>
/// The session's concurrency limits: one FIFO <see cref="AioSemaphore"/> per host (scheme, host, port) and one overall,
/// acquired in that order (always the same order: no deadlock between two requests). A host's entry is dropped when no
/// request holds or waits for it.
/// </summary>
internal sealed class HostLimiter
{
    private readonly int _perHost;                                // 0: no per-host limit
    private readonly AioSemaphore? _overall;                      // null: no overall limit
    private readonly Dictionary<string, HostEntry> _hosts = new(StringComparer.OrdinalIgnoreCase);

    public HostLimiter(int overall, int perHost)
    {
        _perHost = perHost;
        _overall = overall > 0 ? new AioSemaphore(overall) : null;
    }

    /// <summary>Requests holding a place (overall).</summary>
    public int Active { get; private set; }

    /// <summary>Requests waiting for a place.</summary>
    public int Queued { get; private set; }

    /// <summary>Whether acquiring for <paramref name="host"/> would wait now.</summary>
    public bool WouldWait(string host) =>
        (_overall is { } o && o.Locked) || (_perHost > 0 && _hosts.TryGetValue(host, out HostEntry? e) && e.Semaphore.Locked);

    /// <summary>Takes a place for <paramref name="host"/>, waiting FIFO; cancellation-safe (nothing held when it throws).</summary>
    public async Task<HostSlot> AcquireAsync(string host)
    {
        HostEntry? entry = null;
        AioSemaphore.Releaser hostPermit = default;
        bool queued = WouldWait(host);
        if (queued)
        {
            Queued++;
        }
        try
        {
            if (_perHost > 0)
            {
                if (!_hosts.TryGetValue(host, out entry))
                {
                    entry = new HostEntry(new AioSemaphore(_perHost));
                    _hosts.Add(host, entry);
                }
                entry.Users++;
                hostPermit = await entry.Semaphore.AcquireAsync();
            }
            AioSemaphore.Releaser overallPermit = _overall is null ? default : await _overall.AcquireAsync();
            Active++;
            return new HostSlot(this, host, entry, hostPermit, overallPermit);
        }
        catch
        {
            hostPermit.Dispose();
            if (entry is not null)
            {
                Leave(host, entry);
            }
            throw;
        }
        finally
        {
            if (queued)
            {
                Queued--;
            }
        }
    }

    internal void Release(string host, HostEntry? entry)
    {
        Active--;
        if (entry is not null)
        {
            Leave(host, entry);
        }
    }

    private void Leave(string host, HostEntry entry)
    {
        if (--entry.Users == 0)
        {
            _hosts.Remove(host);
        }
    }

    internal sealed class HostEntry(AioSemaphore semaphore)
    {
        public readonly AioSemaphore Semaphore = semaphore;
        public int Users;       // requests holding or waiting for this host's semaphore
    }
}

/// <summary>A request's place in the limits; <see cref="Release"/> (idempotent) gives it back.</summary>
internal sealed class HostSlot(HostLimiter limiter, string host, HostLimiter.HostEntry? entry, AioSemaphore.Releaser hostPermit, AioSemaphore.Releaser overallPermit)
{
    private bool _released;

    public void Release()
    {
        if (_released)
        {
            return;
        }
        _released = true;
        overallPermit.Dispose();
        hostPermit.Dispose();
        limiter.Release(host, entry);
    }
}
