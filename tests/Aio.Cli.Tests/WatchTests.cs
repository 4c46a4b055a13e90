using System.Text.Json;
using Aio.Cli.Watch;
using Aio.Jobs;
using Microsoft.Data.Sqlite;

namespace Aio.Cli.Tests;

/// <summary>A probe on the loop's clock: each check takes 50 ms; a URL is down while the given function says so.</summary>
internal sealed class FakeProbe(Func<string, DateTimeOffset, bool> isDown) : IWatchProbe
{
    public int Checks { get; private set; }

    public async Task<CheckRecord> CheckAsync(string url, DateTimeOffset at)
    {
        Checks++;
        await Sleep(0.05);
        return isDown(url, at)
            ? new CheckRecord(url, at, false, 503, 50, "503 Service Unavailable")
            : new CheckRecord(url, at, true, 200, 50, null);
    }
}

public sealed class WatchTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private const string A = "http://a.test/", B = "http://b.test/";
    private readonly string _dir = Directory.CreateTempSubdirectory("aio-watch-").FullName;

    private string Db => Path.Combine(_dir, "watch.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private WatchSettings Settings(TimeSpan? retention = null) =>
        new([A, B], TimeSpan.FromSeconds(30), HttpMethod.Head, TimeSpan.FromSeconds(10), Db, retention ?? TimeSpan.FromDays(30), null, false)
        {
            WallClock = new LoopWallClock(EventLoop.GetRunningLoop(), Start),
            BusyTimeout = TimeSpan.FromMilliseconds(50),
        };

    /// <summary>Runs a monitor for <paramref name="seconds"/> of loop time, then stops it as Ctrl+C would (cancels its task).</summary>
    private static async Task<int> WatchFor(WatchMonitor monitor, double seconds, Func<Task>? during = null)
    {
        await monitor.OpenAsync();
        AioTask run = CreateTask(monitor.RunAsync, "watch");
        if (during is not null)
        {
            await during();
        }
        else
        {
            await Sleep(seconds);
        }
        run.Cancel();
        await Assert.ThrowsAsync<CancelledError>(async () => await run);
        return await monitor.CloseAsync();
    }

    private static List<CheckRecord> ReadBack(string db, DateTimeOffset from, DateTimeOffset to)
    {
        using WatchStore store = WatchStore.Open(db, TimeSpan.FromSeconds(1));
        store.EnsureTargets([A, B], from);
        return store.Checks(null, from, to);
    }

    [Fact]
    public void Watch_ADayOfChecksInVirtualTime_Writes2880RowsPerUrl_AndReadsThemBack()
    {
        // b is down from 01:00:00 to 01:02:00 (checks at 3600, 3630, 3660, 3690 s).
        var probe = new FakeProbe((url, at) => url == B && at >= Start.AddSeconds(3600) && at < Start.AddSeconds(3720));
        var transitions = new List<TransitionRecord>();
        var logger = new ListLogger();
        int lost = AioTest.Run(async () =>
        {
            var monitor = new WatchMonitor(Settings(), probe, logger);
            monitor.TransitionOccurred += transitions.Add;
            return await WatchFor(monitor, 86400 - 1);
        });
        Assert.Equal(0, lost);
        Assert.Equal(
            [
                new TransitionRecord(B, Start.AddSeconds(3600), false, true, 503, "503 Service Unavailable"),
                new TransitionRecord(B, Start.AddSeconds(3720), true, false, 200, null),
            ],
            transitions);
        List<CheckRecord> checks = ReadBack(Db, Start, Start.AddDays(1));
        Assert.Equal(2 * 2880, checks.Count);
        foreach (string url in new[] { A, B })
        {
            List<CheckRecord> rows = [.. checks.Where(c => c.Url == url)];
            Assert.Equal(Enumerable.Range(0, 2880).Select(k => Start.AddSeconds(30 * k)), rows.Select(c => c.At));
            Assert.Equal(url == B ? 4 : 0, rows.Count(c => !c.Up));
        }
        using WatchStore store = WatchStore.Open(Db, TimeSpan.FromSeconds(1));
        Assert.Equal(WatchStore.SchemaVersion, store.Version);
        Assert.Equal([(B, false), (B, true)], store.Transitions(Start, Start.AddDays(1)).Select(t => (t.Url, t.Up)));
        Assert.Equal([301, 302], logger.Entries.Where(e => e.Id.Id is 301 or 302).Select(e => e.Id.Id));
    }

    [Fact]
    public void Watch_Restarted_ContinuesTheHistoryAndTheStates()
    {
        // First run: 10 checks; b goes down at its 6th. Second run (a "restart" a minute later): b is still down
        // (no new transition), then comes back (a transition whose previous state came from the database).
        var second = new List<TransitionRecord>();
        AioTest.Run(async () =>
        {
            var probe = new FakeProbe((url, at) => url == B && at >= Start.AddSeconds(150));
            Assert.Equal(0, await WatchFor(new WatchMonitor(Settings(), probe, new ListLogger()), 299));
        });
        AioTest.Run(async () =>
        {
            WatchSettings settings = Settings() with { WallClock = new LoopWallClock(EventLoop.GetRunningLoop(), Start.AddSeconds(360)) };
            var probe = new FakeProbe((url, at) => url == B && at < Start.AddSeconds(420));
            var monitor = new WatchMonitor(settings, probe, new ListLogger());
            monitor.TransitionOccurred += second.Add;
            Assert.Equal(0, await WatchFor(monitor, 0, during: async () =>
            {
                Assert.Equal(new Dictionary<string, bool?> { [A] = true, [B] = false }, monitor.States);   // from the database
                await Sleep(119);
            }));
        });
        Assert.Equal([new TransitionRecord(B, Start.AddSeconds(420), true, false, 200, null)], second);
        List<CheckRecord> checks = ReadBack(Db, Start, Start.AddDays(1));
        Assert.Equal(2 * (10 + 4), checks.Count);
        Assert.Equal(
            [.. Enumerable.Range(0, 10).Select(k => Start.AddSeconds(30 * k)), .. Enumerable.Range(0, 4).Select(k => Start.AddSeconds(360 + 30 * k))],
            checks.Where(c => c.Url == A).Select(c => c.At));
    }

    [Fact]
    public void Watch_Retention_DeletesChecksOlderThanItEveryHour()
    {
        AioTest.Run(async () =>
        {
            var probe = new FakeProbe((_, _) => false);
            Assert.Equal(0, await WatchFor(new WatchMonitor(Settings(TimeSpan.FromHours(1)), probe, new ListLogger()), 3 * 3600 - 1));
        });
        // Pruned at 2 h (before 1 h); the prune due at 3 h did not come: rows from 1 h to the end remain.
        List<CheckRecord> checks = ReadBack(Db, Start, Start.AddDays(1));
        Assert.Equal(Enumerable.Range(120, 240).Select(k => Start.AddSeconds(30 * k)), checks.Where(c => c.Url == A).Select(c => c.At));
    }

    [Fact]
    public void Watch_DatabaseLockedForAWhile_DefersTheWrites_LosesNoRows()
    {
        var logger = new ListLogger();
        AioTest.Run(async () =>
        {
            var probe = new FakeProbe((_, _) => false);
            var monitor = new WatchMonitor(Settings(), probe, logger);
            Assert.Equal(0, await WatchFor(monitor, 0, during: async () =>
            {
                await Sleep(61);                               // rounds at 0, 30, 60 written
                using var other = new SqliteConnection($"Data Source={Db};Pooling=False");
                other.Open();
                using (SqliteCommand begin = other.CreateCommand())
                {
                    begin.CommandText = "BEGIN EXCLUSIVE";
                    begin.ExecuteNonQuery();
                }
                await Sleep(90);                               // rounds at 90, 120, 150 cannot write
                Assert.Equal(6, monitor.Pending);
                other.Close();                                 // the lock ends (rolled back)
                await Sleep(60);                               // rounds at 180, 210 write everything
                Assert.Equal(0, monitor.Pending);
            }));
        });
        Assert.Equal([303, 303, 303], logger.Entries.Where(e => e.Id.Id is 303 or 304).Select(e => e.Id.Id));
        Assert.Contains("is locked by another process", logger.Entries.First(e => e.Id.Id == 303).Message, StringComparison.Ordinal);
        Assert.Equal(2 * 8, ReadBack(Db, Start, Start.AddDays(1)).Count);
    }

    [Fact]
    public void Watch_DatabaseLockedThroughTheStop_ReportsTheRowsItCouldNotWrite()
    {
        var logger = new ListLogger();
        int lost = AioTest.Run(async () =>
        {
            var monitor = new WatchMonitor(Settings(), new FakeProbe((_, _) => false), logger);
            var other = new SqliteConnection($"Data Source={Db};Pooling=False");
            try
            {
                return await WatchFor(monitor, 0, during: async () =>
                {
                    await Sleep(1);
                    other.Open();
                    using SqliteCommand begin = other.CreateCommand();
                    begin.CommandText = "BEGIN EXCLUSIVE";
                    begin.ExecuteNonQuery();
                    await Sleep(60);                            // rounds at 30 and 60 cannot write
                });
            }
            finally
            {
                other.Dispose();
            }
        });
        Assert.Equal(4, lost);
        Assert.Equal([303, 303, 304], logger.Entries.Where(e => e.Id.Id is 303 or 304).Select(e => e.Id.Id));
        Assert.Equal(2, ReadBack(Db, Start, Start.AddDays(1)).Count);   // the first round's rows are intact
    }

    [Fact]
    public void WatchCommand_CorruptDatabase_ClearErrorExit1_FileUntouched()
    {
        byte[] garbage = [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 7))];
        File.WriteAllBytes(Db, garbage);
        CliResult r = CliHarness.Run(["watch", "--db", Db, "http://127.0.0.1:1/"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"aio: the history database {Db} is not a SQLite database or is corrupt (SQLite error 26: file is not a database). Nothing was written to it. Move it aside (or restore a backup) and run again, or pass another --db.{Environment.NewLine}", r.Error);
        Assert.Equal(garbage, File.ReadAllBytes(Db));
    }

    [Fact]
    public void WatchCommand_DatabaseLockedByAnotherProcess_ClearErrorExit1_RowsKept()
    {
        // An earlier watch wrote 10 checks; another writer holds the file when a new watch starts.
        AioTest.Run(async () => Assert.Equal(0, await WatchFor(new WatchMonitor(Settings(), new FakeProbe((_, _) => false), new ListLogger()), 149)));
        using (var other = new SqliteConnection($"Data Source={Db};Pooling=False"))
        {
            other.Open();
            using SqliteCommand begin = other.CreateCommand();
            begin.CommandText = "BEGIN EXCLUSIVE; INSERT INTO targets (url, created_at) VALUES ('http://new.test/', 0);";
            begin.ExecuteNonQuery();
            CliResult r = CliHarness.Run(["watch", "--db", Db, "http://new.test/"]);
            Assert.Equal(1, r.ExitCode);
            Assert.StartsWith($"aio: the history database {Db} is locked by another process (SQLite error 5: database is locked); could not open it.", r.Error, StringComparison.Ordinal);
        }
        Assert.Equal(10, ReadBack(Db, Start, Start.AddDays(1)).Count);
    }

    [Fact]
    public void WatchCommand_NewerSchema_IsRefused()
    {
        AioTest.Run(async () => Assert.Equal(0, await WatchFor(new WatchMonitor(Settings(), new FakeProbe((_, _) => false), new ListLogger()), 1)));
        using (var c = new SqliteConnection($"Data Source={Db};Pooling=False"))
        {
            c.Open();
            using SqliteCommand update = c.CreateCommand();
            update.CommandText = "UPDATE schema_version SET version = 99";
            update.ExecuteNonQuery();
        }
        CliResult r = CliHarness.Run(["watch", "--db", Db, A]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("has schema version 99, newer than this aio knows (1)", r.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultPath_HonoursXdgDataHome_ElseHome()
    {
        Assert.Equal("/x/data/aio/watch.db", WatchStore.DefaultPath(n => n == "XDG_DATA_HOME" ? "/x/data" : "/home/u"));
        Assert.Equal("/home/u/.local/share/aio/watch.db", WatchStore.DefaultPath(n => n == "HOME" ? "/home/u" : null));
        Assert.Equal("/home/u/.local/share/aio/watch.db", WatchStore.DefaultPath(n => n == "HOME" ? "/home/u" : "relative"));
    }
}

/// <summary><c>aio watch</c> as a command, in real time against the local server: output, --json, webhook, Ctrl+C.</summary>
public sealed class WatchCommandTests : IClassFixture<FetchCommandTests.Server>, IDisposable
{
    private readonly LocalServer _server;
    private readonly string _dir = Directory.CreateTempSubdirectory("aio-watch-cmd-").FullName;

    public WatchCommandTests(FetchCommandTests.Server server) => _server = server.Local;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void WatchCommand_CtrlC_FinishesTheRoundWritesTheRowsExits0()
    {
        string db = Path.Combine(_dir, "w.db");
        string up = _server.Url("/ok"), down = _server.Url("/missing");
        int before = _server.Requests;
        CliResult r = CliHarness.Run(["watch", "--every", "200ms", "--db", db, "--webhook", _server.Url("/hook"), up, down],
            interruptWhen: (_, _) => _server.Requests >= before + 4 * 2 + 1);   // four rounds and the webhook seen by the server
        Assert.Equal(0, r.ExitCode);
        string[] lines = r.Console.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("watching 2 URL(s) every 200ms (HEAD with a 10s timeout); history in ", lines[0], StringComparison.Ordinal);
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ UP   http://127\.0\.0\.1:\d+/ok  200 \d+\.\d ms$", lines[1]);
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ DOWN http://127\.0\.0\.1:\d+/missing  404 Not Found$", lines[2]);
        Assert.Matches(@"^stopped: \d+ round\(s\), \d+ check\(s\) written to ", lines[3]);
        using (WatchStore store = WatchStore.Open(db, TimeSpan.FromSeconds(1)))
        {
            store.EnsureTargets([up, down], DateTimeOffset.UnixEpoch);
            List<CheckRecord> checks = store.Checks(null, DateTimeOffset.UnixEpoch, DateTimeOffset.UtcNow.AddHours(1));
            int rounds = int.Parse(System.Text.RegularExpressions.Regex.Match(lines[3], @"stopped: (\d+) round").Groups[1].Value);
            Assert.InRange(rounds, 4, 6);
            Assert.Equal(2 * rounds, checks.Count);
            Assert.All(checks, c => Assert.Equal(c.Url == up, c.Up));
        }
        // The first check found /missing down: one transition, one webhook.
        string hook = Assert.Single(_server.Hooks, h => h.Contains("/missing", StringComparison.Ordinal));
        using JsonDocument body = JsonDocument.Parse(hook);
        Assert.Equal(("down", JsonValueKind.Null, 404), (body.RootElement.GetProperty("state").GetString(), body.RootElement.GetProperty("previous").ValueKind, body.RootElement.GetProperty("status").GetInt32()));
    }

    [Fact]
    public void WatchCommand_DatabaseLockedThroughCtrlC_SaysHowManyRowsWereNotWritten_Exit1()
    {
        // The first round is written; then another connection locks the file, a round checks, and Ctrl+C comes:
        // that round's row cannot be written (busy timeout 2 s), before or at the close.
        string db = Path.Combine(_dir, "locked.db");
        SqliteConnection? locker = null;
        int lockedAt = 0;
        try
        {
            CliResult r = CliHarness.Run(["watch", "--every", "200ms", "--db", db, _server.Url("/ok")], interruptWhen: (_, console) =>
            {
                if (locker is null && console.Contains(" UP ", StringComparison.Ordinal))
                {
                    locker = new SqliteConnection($"Data Source={db};Pooling=False");
                    locker.Open();
                    using SqliteCommand begin = locker.CreateCommand();
                    begin.CommandText = "BEGIN EXCLUSIVE";
                    begin.ExecuteNonQuery();
                    lockedAt = _server.Requests;
                    return false;
                }
                return locker is not null && _server.Requests > lockedAt;
            });
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("aio: error [304] ", r.Error, StringComparison.Ordinal);
            Assert.Matches($@"aio: [1-9]\d* check\(s\) could not be written to {System.Text.RegularExpressions.Regex.Escape(db)} \(see the log above\); the file was left as it was\.", r.Error);
        }
        finally
        {
            locker?.Dispose();
        }
    }

    [Fact]
    public void WatchCommand_Json_PrintsOneEventPerLine()
    {
        string db = Path.Combine(_dir, "j.db");
        CliResult r = CliHarness.Run(["watch", "--json", "--every", "1h", "--db", db, _server.Url("/fail")],   // one round before the stop
            interruptWhen: (output, _) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length >= 2);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Console);
        var events = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([("check", "down", 500), ("transition", "down", 500)],
            events.Select(e => (e.GetProperty("event").GetString(), e.GetProperty("state").GetString(), e.GetProperty("status").GetInt32())));
    }
}
