// WatchMonitor: the periodic checks of `aio watch` on an Aio.Jobs scheduler, their history and their transitions.
//
// Design note. One fixed-rate job checks every URL concurrently each tick (skipped on overlap: a round slower
// than --every drops the next tick rather than piling up). A round's checks and transitions go to a pending list
// and are written in one transaction on the loop's executor; if the write fails (the file is locked by another
// process past the busy timeout, the disk is full), the rows stay pending and go with the next round's write, so
// a lock that passes loses nothing. CloseAsync writes what is pending a last time and reports rows it could not.
// The events CheckCompleted and TransitionOccurred (raised on the loop thread after the write) and the query
// methods are the seam for a live view (the command's output and the dashboard, see Dashboard/WatchDashboard.cs).
using System.Text.Json;
using Aio.Http;
using Aio.Jobs;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Aio.Cli.Watch;

/// <summary>The settings of <c>aio watch</c>.</summary>
internal sealed record WatchSettings(
    IReadOnlyList<string> Urls,
    TimeSpan Every,
    HttpMethod Method,
    TimeSpan Timeout,
    string DbPath,
    TimeSpan Retention,
    Uri? Webhook,
    bool Json)
{
    /// <summary>How long a write waits for another process's lock before it is deferred to the next round.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Where <c>--dashboard</c> serves the dashboard; null: no dashboard.</summary>
    public Dashboard.DashboardEndpoint? Dashboard { get; init; }

    /// <summary>The wall clock of the rows; null: the loop's <see cref="EventLoop.TimeProvider"/>.</summary>
    public TimeProvider? WallClock { get; init; }
}

/// <summary>Checks one URL.</summary>
internal interface IWatchProbe
{
    Task<CheckRecord> CheckAsync(string url, DateTimeOffset at);
}

/// <summary>The real probe: one request through a <see cref="ClientSession"/>; up means a status below 400.</summary>
internal sealed class HttpProbe(ClientSession session, HttpMethod method) : IWatchProbe
{
    public async Task<CheckRecord> CheckAsync(string url, DateTimeOffset at)
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        double t0 = loop.Time();
        try
        {
            await using ClientResponse response = await session.RequestAsync(method, url);
            await foreach (ReadOnlyMemory<byte> _ in response.ReadChunksAsync(16 * 1024))
            {
            }
            double ms = (loop.Time() - t0) * 1000;
            bool up = response.Status < 400;
            return new CheckRecord(url, at, up, response.Status, ms, up ? null : $"{response.Status} {response.Reason}");
        }
        catch (Exception e) when (e is not CancelledError)
        {
            return new CheckRecord(url, at, false, 0, (loop.Time() - t0) * 1000, Fetch.FetchCommand.Describe(e));
        }
    }
}

internal sealed class WatchMonitor
{
    private static readonly TimeSpan PruneEvery = TimeSpan.FromHours(1);
    private readonly WatchSettings _settings;
    private readonly IWatchProbe _probe;
    private readonly ILogger _logger;
    private readonly ClientSession? _webhookSession;
    private readonly AioLock _storeLock = new();
    private readonly List<CheckRecord> _pendingChecks = [];
    private readonly List<TransitionRecord> _pendingTransitions = [];
    private Dictionary<string, bool?> _state = new(StringComparer.Ordinal);
    private WatchStore? _store;
    private TimeProvider _wallClock = TimeProvider.System;
    private DateTimeOffset _lastPrune = DateTimeOffset.MinValue;
    private readonly string _everyText;
    private readonly string _retentionText;

    public WatchMonitor(WatchSettings settings, IWatchProbe probe, ILogger logger, ClientSession? webhookSession = null)
    {
        _settings = settings;
        _probe = probe;
        _logger = logger;
        _webhookSession = webhookSession;
        _everyText = Durations.Format(settings.Every);
        _retentionText = Durations.Format(settings.Retention);
    }

    /// <summary>After each round's write, once per check (loop thread).</summary>
    public event Action<CheckRecord>? CheckCompleted;

    /// <summary>After each round's write, once per transition (loop thread).</summary>
    public event Action<TransitionRecord>? TransitionOccurred;

    public long Rounds { get; private set; }

    /// <summary>Checks written by this run.</summary>
    public long Written { get; private set; }

    /// <summary>Checks not yet written (the file was locked or failing).</summary>
    public int Pending => _pendingChecks.Count;

    /// <summary>The state each URL had at its last check (null: never checked), this run or an earlier one.</summary>
    public IReadOnlyDictionary<string, bool?> States => _state;

    public string Path => _store?.Path ?? _settings.DbPath;

    /// <summary>Opens the history (executor thread), resumes each URL's last state, applies the retention.</summary>
    public async Task OpenAsync()
    {
        _wallClock = _settings.WallClock ?? EventLoop.GetRunningLoop().TimeProvider;
        DateTimeOffset now = _wallClock.GetUtcNow();
        (_store, _state) = await Asyncio.ToThread(() =>
        {
            WatchStore store = WatchStore.Open(_settings.DbPath, _settings.BusyTimeout);
            try
            {
                store.EnsureTargets(_settings.Urls, now);
                return (store, store.LastStates(_settings.Urls));
            }
            catch (SqliteException e)
            {
                store.Dispose();
                throw WatchStore.Explain(store.Path, e, "prepare");
            }
        });
        int known = _state.Values.Count(v => v is not null);
        if (known > 0)
        {
            WatchLog.Resumed(_logger, _store.Path, known, _settings.Urls.Count);
        }
        await PruneAsync(now);
    }

    /// <summary>Checks every <see cref="WatchSettings.Every"/> until the task is cancelled; then lets the round in flight finish.</summary>
    public async Task RunAsync()
    {
        if (_store is null)
        {
            throw new InvalidOperationException("WatchMonitor.RunAsync: call OpenAsync first.");
        }
        WatchLog.Started(_logger, _settings.Urls.Count, _everyText, _store.Path);
        await using var scheduler = new Scheduler(new SchedulerOptions
        {
            Logger = _logger,
            WallClock = _wallClock,
            StopGracePeriod = _settings.Timeout + TimeSpan.FromSeconds(5),   // a round's checks end by their timeout
        });
        scheduler.Every(_settings.Every, _ => RoundAsync(), "watch", new JobOptions { Overlap = OverlapPolicy.Skip });
        await scheduler.RunAsync();
    }

    /// <summary>One round: check every URL at once, record, write, raise the events, call the webhook.</summary>
    public async Task RoundAsync()
    {
        DateTimeOffset at = _wallClock.GetUtcNow();
        var checks = new CheckRecord[_settings.Urls.Count];
        await TaskGroup.Run(g =>
        {
            for (int i = 0; i < checks.Length; i++)
            {
                int index = i;
                g.CreateTask(async () => checks[index] = await _probe.CheckAsync(_settings.Urls[index], at), "watch-check");
            }
            return Task.CompletedTask;
        });
        Rounds++;
        var transitions = new List<TransitionRecord>();
        foreach (CheckRecord c in checks)
        {
            bool? previous = _state.GetValueOrDefault(c.Url);
            _state[c.Url] = c.Up;
            WatchLog.Checked(_logger, c.Url, c.Up, c.Status, c.LatencyMs);
            if (previous != c.Up && (previous is not null || !c.Up))
            {
                transitions.Add(new TransitionRecord(c.Url, c.At, c.Up, previous, c.Status, c.Error));
                if (c.Up)
                {
                    WatchLog.TargetUp(_logger, c.Url, c.Status, c.LatencyMs);
                }
                else
                {
                    WatchLog.TargetDown(_logger, c.Url, c.Error ?? $"status {c.Status}");
                }
            }
        }
        _pendingChecks.AddRange(checks);
        _pendingTransitions.AddRange(transitions);
        await FlushAsync(final: false);
        if (at - _lastPrune >= PruneEvery)
        {
            await PruneAsync(at);
        }
        foreach (CheckRecord c in checks)
        {
            CheckCompleted?.Invoke(c);
        }
        foreach (TransitionRecord t in transitions)
        {
            TransitionOccurred?.Invoke(t);
            await PostWebhookAsync(t);
        }
    }

    /// <summary>Writes the pending rows; returns false (and keeps them) if the database refused.</summary>
    private async Task<bool> FlushAsync(bool final)
    {
        using AioLock.Releaser held = await _storeLock.AcquireAsync();
        if (_pendingChecks.Count == 0 && _pendingTransitions.Count == 0)
        {
            return true;
        }
        CheckRecord[] checks = [.. _pendingChecks];
        TransitionRecord[] transitions = [.. _pendingTransitions];
        WatchStore store = _store!;
        try
        {
            await Asyncio.ToThread(() => store.Append(checks, transitions));
        }
        catch (SqliteException e)
        {
            string reason = WatchStore.Explain(store.Path, e, "write").Message;
            if (final)
            {
                WatchLog.WriteLost(_logger, checks.Length, store.Path, reason);
            }
            else
            {
                WatchLog.WriteDeferred(_logger, checks.Length, store.Path, reason);
            }
            return false;
        }
        _pendingChecks.RemoveRange(0, checks.Length);
        _pendingTransitions.RemoveRange(0, transitions.Length);
        Written += checks.Length;
        return true;
    }

    private async Task PruneAsync(DateTimeOffset now)
    {
        _lastPrune = now;
        DateTimeOffset before = now - _settings.Retention;
        WatchStore store = _store!;
        using AioLock.Releaser held = await _storeLock.AcquireAsync();
        try
        {
            int deleted = await Asyncio.ToThread(() => store.Prune(before));
            if (deleted > 0)
            {
                WatchLog.Pruned(_logger, _retentionText, deleted, before, store.Path);
            }
        }
        catch (SqliteException e)
        {
            WatchLog.WriteDeferred(_logger, 0, store.Path, WatchStore.Explain(store.Path, e, "prune").Message);
        }
    }

    private async Task PostWebhookAsync(TransitionRecord t)
    {
        if (_settings.Webhook is not { } webhook || _webhookSession is null)
        {
            return;
        }
        string target = webhook.AbsoluteUri;
        var body = new WebhookBody(t.Url, t.Up ? "up" : "down", t.Previous switch { true => "up", false => "down", null => null },
            t.At, t.Status, t.Error);
        try
        {
            await using ClientResponse response = await _webhookSession.PostJsonAsync(target, body, new ClientRequestOptions
            {
                Timeout = new ClientTimeout { Total = _settings.Timeout },
            }, WebhookJson);
            await response.ReadAllBytesAsync();
            if (response.Status >= 400)
            {
                WatchLog.WebhookFailed(_logger, target, t.Url, $"status {response.Status} {response.Reason}");
            }
        }
        catch (Exception e) when (e is not CancelledError)
        {
            WatchLog.WebhookFailed(_logger, target, t.Url, Fetch.FetchCommand.Describe(e));
        }
    }

    internal static readonly JsonSerializerOptions WebhookJson = new(JsonSerializerDefaults.Web);

    /// <summary>The JSON a webhook receives on a transition.</summary>
    internal sealed record WebhookBody(string Url, string State, string? Previous, DateTimeOffset At, int Status, string? Error);

    /// <summary>The checks in [from, to) of one URL or all, oldest first; with a limit, the newest that many (the history query of the dashboard).</summary>
    public async Task<List<CheckRecord>> ChecksAsync(string? url, DateTimeOffset from, DateTimeOffset to, int? limit = null)
    {
        WatchStore store = _store ?? throw new InvalidOperationException("WatchMonitor: call OpenAsync first.");
        using AioLock.Releaser held = await _storeLock.AcquireAsync();
        return await Asyncio.ToThread(() => store.Checks(url, from, to, limit));
    }

    /// <summary>The uptime per URL in [from, to).</summary>
    public async Task<List<UptimeRecord>> UptimeAsync(DateTimeOffset from, DateTimeOffset to)
    {
        WatchStore store = _store ?? throw new InvalidOperationException("WatchMonitor: call OpenAsync first.");
        using AioLock.Releaser held = await _storeLock.AcquireAsync();
        return await Asyncio.ToThread(() => store.Uptime(from, to));
    }

    /// <summary>Writes what is pending and closes the database; returns the rows that could not be written (0: none lost).</summary>
    public async Task<int> CloseAsync()
    {
        if (_store is null)
        {
            return 0;
        }
        await FlushAsync(final: true);
        int lost = _pendingChecks.Count;
        WatchLog.Stopped(_logger, Rounds, Written, _store.Path);
        WatchStore store = _store;
        _store = null;
        await Asyncio.ToThread(store.Dispose);
        return lost;
    }
}
