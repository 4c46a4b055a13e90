// WatchStore: the history of `aio watch` in one SQLite file.
//
// Design note. Plain synchronous Microsoft.Data.Sqlite calls on one connection; WatchMonitor runs every call on the
// loop's executor (Asyncio.ToThread) one at a time (an AioLock), so the loop never blocks on the disk and the
// connection is never used by two threads at once. The schema is versioned: `schema_version` holds the version,
// and Open applies the missing migrations in one transaction each (a database from a newer aio is refused, not
// changed). WAL journal (readers such as a dashboard do not block the writer), synchronous=NORMAL (a power cut may
// lose the last commits, never corrupt the file), a busy timeout so a short lock by another process waits instead
// of failing. Times are Unix milliseconds (UTC).
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Aio.Cli.Watch;

/// <summary>One check of one target.</summary>
internal readonly record struct CheckRecord(string Url, DateTimeOffset At, bool Up, int Status, double LatencyMs, string? Error);

/// <summary>A change of a target's state (or its first check finding it down).</summary>
internal readonly record struct TransitionRecord(string Url, DateTimeOffset At, bool Up, bool? Previous, int Status, string? Error);

/// <summary>Per target: checks, how many were up, mean and 95th-percentile latency of those up, over a time range.</summary>
internal readonly record struct UptimeRecord(string Url, int Checks, int Up, double MeanLatencyMs, double P95LatencyMs, DateTimeOffset? LastAt, bool? LastUp);

internal sealed class WatchStore : IDisposable
{
    /// <summary>The schema version this build writes; each entry of <see cref="Migrations"/> leads to the next.</summary>
    public const int SchemaVersion = 1;

    private static readonly string[][] Migrations =
    [
        // 0 → 1: targets, checks, transitions.
        [
            "CREATE TABLE targets (id INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL)",
            "CREATE TABLE checks (id INTEGER PRIMARY KEY, target_id INTEGER NOT NULL REFERENCES targets(id), at INTEGER NOT NULL, up INTEGER NOT NULL, status INTEGER NOT NULL, latency_ms REAL NOT NULL, error TEXT)",
            "CREATE INDEX checks_by_target_time ON checks (target_id, at)",
            "CREATE INDEX checks_by_time ON checks (at)",
            "CREATE TABLE transitions (id INTEGER PRIMARY KEY, target_id INTEGER NOT NULL REFERENCES targets(id), at INTEGER NOT NULL, up INTEGER NOT NULL, previous INTEGER, status INTEGER NOT NULL, error TEXT)",
            "CREATE INDEX transitions_by_time ON transitions (at)",
        ],
    ];

    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, long> _targets = new(StringComparer.Ordinal);

    private WatchStore(string path, SqliteConnection connection)
    {
        Path = path;
        _connection = connection;
    }

    public string Path { get; }

    /// <summary>The default database: <c>$XDG_DATA_HOME/aio/watch.db</c>, else <c>~/.local/share/aio/watch.db</c>.</summary>
    public static string DefaultPath(Func<string, string?> environment)
    {
        string? xdg = environment("XDG_DATA_HOME");
        string root = !string.IsNullOrEmpty(xdg) && System.IO.Path.IsPathRooted(xdg)
            ? xdg
            : System.IO.Path.Combine(environment("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        return System.IO.Path.Combine(root, "aio", "watch.db");
    }

    /// <summary>
    /// Opens (creating it and its directory if needed) and migrates the database at <paramref name="path"/>.
    /// Throws <see cref="WatchStoreException"/> with a message that says what is wrong with the file and what to do.
    /// </summary>
    public static WatchStore Open(string path, TimeSpan busyTimeout)
    {
        string full = System.IO.Path.GetFullPath(path);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WatchStoreException($"cannot create the directory of the history database {full}: {e.Message}", e);
        }
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = Math.Max(1, (int)busyTimeout.TotalSeconds),
        }.ToString());
        var store = new WatchStore(full, connection);
        try
        {
            connection.Open();
            store.Execute($"PRAGMA busy_timeout = {(long)busyTimeout.TotalMilliseconds}");
            store.Execute("PRAGMA journal_mode = WAL");
            store.Execute("PRAGMA synchronous = NORMAL");
            store.Execute("PRAGMA foreign_keys = ON");
            store.Migrate();
            return store;
        }
        catch (SqliteException e)
        {
            connection.Dispose();
            throw Explain(full, e, "open");
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>A message for a SQLite failure on the database file: corrupt, locked, read-only, unreachable.</summary>
    internal static WatchStoreException Explain(string path, SqliteException e, string doing)
    {
        // Microsoft.Data.Sqlite's messages read "SQLite Error 26: 'file is not a database'."; keep the quoted part.
        string m = e.Message;
        int quote = m.IndexOf(": '", StringComparison.Ordinal);
        string what = (quote >= 0 ? m[(quote + 3)..] : m).TrimEnd('.', '\'');
        string sqlite = $"SQLite error {e.SqliteErrorCode}: {what}";
        return e.SqliteErrorCode switch
        {
            26 or 11 => new WatchStoreException($"the history database {path} is not a SQLite database or is corrupt ({sqlite}). Nothing was written to it. Move it aside (or restore a backup) and run again, or pass another --db.", e),
            5 or 6 => new WatchStoreException($"the history database {path} is locked by another process ({sqlite}); could not {doing} it. Stop the other writer (another aio watch in a long transaction?) and run again, or pass another --db.", e),
            8 or 14 or 23 => new WatchStoreException($"cannot {doing} the history database {path} for writing ({sqlite}). Check the permissions of the file and its directory, or pass another --db.", e),
            _ => new WatchStoreException($"could not {doing} the history database {path} ({sqlite}).", e),
        };
    }

    /// <summary>The schema version of the open file.</summary>
    public int Version => Convert.ToInt32(Scalar("SELECT version FROM schema_version"), CultureInfo.InvariantCulture);

    private void Migrate()
    {
        Execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        using (SqliteTransaction tx = _connection.BeginTransaction())
        {
            if (Scalar("SELECT COUNT(*) FROM schema_version", tx) is 0L)
            {
                Execute("INSERT INTO schema_version (version) VALUES (0)", tx);
            }
            tx.Commit();
        }
        int version = Version;
        if (version > SchemaVersion)
        {
            throw new WatchStoreException($"the history database {Path} has schema version {version}, newer than this aio knows ({SchemaVersion}); it was written by a newer aio. Use that one, or pass another --db.");
        }
        for (int v = version; v < SchemaVersion; v++)
        {
            using SqliteTransaction tx = _connection.BeginTransaction();
            foreach (string sql in Migrations[v])
            {
                Execute(sql, tx);
            }
            Execute($"UPDATE schema_version SET version = {v + 1}", tx);
            tx.Commit();
        }
    }

    /// <summary>The id of each URL's target row, created if new.</summary>
    public void EnsureTargets(IEnumerable<string> urls, DateTimeOffset now)
    {
        using SqliteTransaction tx = _connection.BeginTransaction();
        foreach (string url in urls)
        {
            using SqliteCommand insert = Command("INSERT OR IGNORE INTO targets (url, created_at) VALUES ($url, $at)", tx);
            insert.Parameters.AddWithValue("$url", url);
            insert.Parameters.AddWithValue("$at", now.ToUnixTimeMilliseconds());
            insert.ExecuteNonQuery();
            using SqliteCommand select = Command("SELECT id FROM targets WHERE url = $url", tx);
            select.Parameters.AddWithValue("$url", url);
            _targets[url] = (long)select.ExecuteScalar()!;
        }
        tx.Commit();
    }

    /// <summary>Each target's last recorded state (null: never checked): what a restarted watch compares its first checks with.</summary>
    public Dictionary<string, bool?> LastStates(IEnumerable<string> urls)
    {
        var states = new Dictionary<string, bool?>(StringComparer.Ordinal);
        foreach (string url in urls)
        {
            using SqliteCommand c = Command("SELECT up FROM checks WHERE target_id = $id ORDER BY at DESC, id DESC LIMIT 1");
            c.Parameters.AddWithValue("$id", TargetId(url));
            states[url] = c.ExecuteScalar() is long up ? up != 0 : null;
        }
        return states;
    }

    /// <summary>Appends checks and transitions in one transaction (all or nothing).</summary>
    public void Append(IReadOnlyList<CheckRecord> checks, IReadOnlyList<TransitionRecord> transitions)
    {
        using SqliteTransaction tx = _connection.BeginTransaction();
        using (SqliteCommand c = Command("INSERT INTO checks (target_id, at, up, status, latency_ms, error) VALUES ($t, $at, $up, $status, $lat, $err)", tx))
        {
            SqliteParameter t = c.Parameters.Add("$t", SqliteType.Integer), at = c.Parameters.Add("$at", SqliteType.Integer),
                up = c.Parameters.Add("$up", SqliteType.Integer), status = c.Parameters.Add("$status", SqliteType.Integer),
                lat = c.Parameters.Add("$lat", SqliteType.Real), err = c.Parameters.Add("$err", SqliteType.Text);
            foreach (CheckRecord r in checks)
            {
                t.Value = TargetId(r.Url);
                at.Value = r.At.ToUnixTimeMilliseconds();
                up.Value = r.Up ? 1 : 0;
                status.Value = r.Status;
                lat.Value = r.LatencyMs;
                err.Value = (object?)r.Error ?? DBNull.Value;
                c.ExecuteNonQuery();
            }
        }
        foreach (TransitionRecord r in transitions)
        {
            using SqliteCommand c = Command("INSERT INTO transitions (target_id, at, up, previous, status, error) VALUES ($t, $at, $up, $prev, $status, $err)", tx);
            c.Parameters.AddWithValue("$t", TargetId(r.Url));
            c.Parameters.AddWithValue("$at", r.At.ToUnixTimeMilliseconds());
            c.Parameters.AddWithValue("$up", r.Up ? 1 : 0);
            c.Parameters.AddWithValue("$prev", r.Previous is { } p ? (p ? 1 : 0) : DBNull.Value);
            c.Parameters.AddWithValue("$status", r.Status);
            c.Parameters.AddWithValue("$err", (object?)r.Error ?? DBNull.Value);
            c.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>Deletes checks and transitions older than <paramref name="before"/>; returns the checks deleted.</summary>
    public int Prune(DateTimeOffset before)
    {
        using SqliteTransaction tx = _connection.BeginTransaction();
        using SqliteCommand checks = Command("DELETE FROM checks WHERE at < $before", tx);
        checks.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
        int deleted = checks.ExecuteNonQuery();
        using SqliteCommand transitions = Command("DELETE FROM transitions WHERE at < $before", tx);
        transitions.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
        transitions.ExecuteNonQuery();
        tx.Commit();
        return deleted;
    }

    /// <summary>
    /// The checks of <paramref name="url"/> (every target when null) in [from, to), oldest first; with
    /// <paramref name="limit"/>, only the newest <paramref name="limit"/> of them (still oldest first).
    /// </summary>
    public List<CheckRecord> Checks(string? url, DateTimeOffset from, DateTimeOffset to, int? limit = null)
    {
        using SqliteCommand c = Command("SELECT t.url, c.at, c.up, c.status, c.latency_ms, c.error FROM checks c JOIN targets t ON t.id = c.target_id " +
            "WHERE c.at >= $from AND c.at < $to AND ($url IS NULL OR t.url = $url) " +
            (limit is null ? "ORDER BY c.at, c.id" : "ORDER BY c.at DESC, c.id DESC LIMIT $limit"));
        c.Parameters.AddWithValue("$from", from.ToUnixTimeMilliseconds());
        c.Parameters.AddWithValue("$to", to.ToUnixTimeMilliseconds());
        c.Parameters.AddWithValue("$url", (object?)url ?? DBNull.Value);
        if (limit is { } n)
        {
            c.Parameters.AddWithValue("$limit", n);
        }
        using SqliteDataReader r = c.ExecuteReader();
        var list = new List<CheckRecord>();
        while (r.Read())
        {
            list.Add(new CheckRecord(r.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), r.GetInt64(2) != 0, r.GetInt32(3), r.GetDouble(4), r.IsDBNull(5) ? null : r.GetString(5)));
        }
        if (limit is not null)
        {
            list.Reverse();
        }
        return list;
    }

    /// <summary>The transitions in [from, to), oldest first.</summary>
    public List<TransitionRecord> Transitions(DateTimeOffset from, DateTimeOffset to)
    {
        using SqliteCommand c = Command("SELECT t.url, x.at, x.up, x.previous, x.status, x.error FROM transitions x JOIN targets t ON t.id = x.target_id " +
            "WHERE x.at >= $from AND x.at < $to ORDER BY x.at, x.id");
        c.Parameters.AddWithValue("$from", from.ToUnixTimeMilliseconds());
        c.Parameters.AddWithValue("$to", to.ToUnixTimeMilliseconds());
        using SqliteDataReader r = c.ExecuteReader();
        var list = new List<TransitionRecord>();
        while (r.Read())
        {
            list.Add(new TransitionRecord(r.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)), r.GetInt64(2) != 0,
                r.IsDBNull(3) ? null : r.GetInt64(3) != 0, r.GetInt32(4), r.IsDBNull(5) ? null : r.GetString(5)));
        }
        return list;
    }

    /// <summary>Uptime per target over [from, to) (the dashboard's table; also <c>aio watch</c>'s closing summary).</summary>
    public List<UptimeRecord> Uptime(DateTimeOffset from, DateTimeOffset to)
    {
        var list = new List<UptimeRecord>();
        foreach (IGrouping<string, CheckRecord> g in Checks(null, from, to).GroupBy(c => c.Url))
        {
            double[] up = [.. g.Where(c => c.Up).Select(c => c.LatencyMs).Order()];
            CheckRecord last = g.Last();
            list.Add(new UptimeRecord(g.Key, g.Count(), up.Length, up.Length > 0 ? up.Average() : 0,
                up.Length > 0 ? up[Math.Clamp((int)Math.Ceiling(0.95 * up.Length) - 1, 0, up.Length - 1)] : 0, last.At, last.Up));
        }
        return list;
    }

    private long TargetId(string url) => _targets.TryGetValue(url, out long id)
        ? id
        : throw new InvalidOperationException($"'{url}' is not a target of this store; call EnsureTargets first.");

    private SqliteCommand Command(string sql, SqliteTransaction? tx = null)
    {
        SqliteCommand c = _connection.CreateCommand();
        c.CommandText = sql;
        c.Transaction = tx;
        return c;
    }

    private void Execute(string sql, SqliteTransaction? tx = null)
    {
        using SqliteCommand c = Command(sql, tx);
        c.ExecuteNonQuery();
    }

    private object? Scalar(string sql, SqliteTransaction? tx = null)
    {
        using SqliteCommand c = Command(sql, tx);
        return c.ExecuteScalar();
    }

    /// <summary>Closes the connection: WAL is checkpointed into the main file when the last connection closes.</summary>
    public void Dispose() => _connection.Dispose();
}

/// <summary>The history database cannot be used; the message says why and what to do.</summary>
internal sealed class WatchStoreException(string message, Exception? inner = null) : Exception(message, inner);
