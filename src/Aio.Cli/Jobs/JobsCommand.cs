// aio jobs: inspect and operate the Redis task queue of Aio.Jobs.Redis (queues, a job, dead letters, retry, purge).
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Aio.Jobs.Redis;
using Spectre.Console;
using StackExchange.Redis;

namespace Aio.Cli.Jobs;

internal static class JobsCommand
{
    private static readonly string[] CountColumns = ["high", "normal", "low", "running", "delayed", "dead"];

    public static Command Create(CliContext ctx)
    {
        var redis = new Option<string>("--redis", "-r")
        {
            Description = "Redis to use: host:port, redis://host:port, or a StackExchange.Redis configuration (default $AIO_REDIS, else 127.0.0.1:6379)",
            Recursive = true,
        };
        var queue = new Option<string>("--queue", "-q") { Description = "The queue's name", DefaultValueFactory = _ => "default", Recursive = true };
        var prefix = new Option<string>("--prefix") { Description = "The queues' key prefix (JobQueueOptions.KeyPrefix)", DefaultValueFactory = _ => "aio:q:", Recursive = true };
        var id = new Argument<string>("id") { Description = "The job's id" };
        var count = new Option<int>("--count", "-n") { Description = "Dead letters to list, newest first", DefaultValueFactory = _ => 20 };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation" };

        var queues = new Command("queues", "List the queues under the prefix with their counts (queued by priority, running, delayed, dead)");
        var show = new Command("show", "Show a job: state, attempts, last error, owner, history (exit 1 if unknown)") { id };
        var dead = new Command("dead", "List the queue's dead letters, newest first") { count };
        var retryId = new Argument<string>("id") { Description = "The dead job's id" };
        var retry = new Command("retry", "Put a dead job back on its queue with fresh attempts (exit 1 if it is not dead)") { retryId };
        var purge = new Command("purge", "Delete every key of the queue (asks first unless --yes)") { yes };
        var command = new Command("jobs", "Inspect and operate the Redis task queue of Aio.Jobs.Redis") { redis, queue, prefix, queues, show, dead, retry, purge };

        Func<ParseResult, Func<IConnectionMultiplexer, JobQueue, bool, Task<int>>, int> run = (parse, body) =>
        {
            string config = Configuration(parse.GetValue(redis) ?? ctx.GetEnvironment("AIO_REDIS") ?? "127.0.0.1:6379");
            string name = parse.GetValue(queue)!;
            string keyPrefix = parse.GetValue(prefix)!;
            bool json = parse.GetValue(AioCli.Json);
            return ctx.RunOnLoop(async () =>
            {
                ConnectionMultiplexer connection;
                try
                {
                    connection = await Asyncio.Cancellable(ConnectionMultiplexer.ConnectAsync(config));
                }
                catch (RedisConnectionException e)
                {
                    throw new CliException($"cannot connect to Redis at {config}: {e.Message.Split('\n')[0].Trim()} Is it running? Pass its address with --redis or AIO_REDIS.", ExitCodes.Failures, e);
                }
                await using (connection)
                {
                    await using var q = new JobQueue(connection, name, new JobQueueOptions { KeyPrefix = keyPrefix });
                    return await body(connection, q, json);
                }
            });
        };

        queues.SetAction(parse => run(parse, async (connection, q, json) =>
        {
            IReadOnlyList<string> names = await JobQueue.ListQueuesAsync(connection, q.Options.KeyPrefix);
            var rows = new List<(string Name, JobQueueStats Stats)>();
            foreach (string n in names)
            {
                await using var each = new JobQueue(connection, n, q.Options);
                rows.Add((n, await each.GetStatsAsync()));
            }
            if (json)
            {
                WriteJson(ctx.Out, w =>
                {
                    w.WriteStartArray();
                    foreach ((string n, JobQueueStats s) in rows)
                    {
                        w.WriteStartObject();
                        w.WriteString("queue", n);
                        w.WriteNumber("queued_high", s.Queued[2]);
                        w.WriteNumber("queued_normal", s.Queued[1]);
                        w.WriteNumber("queued_low", s.Queued[0]);
                        w.WriteNumber("running", s.Running);
                        w.WriteNumber("delayed", s.Delayed);
                        w.WriteNumber("dead", s.Dead);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
                return ExitCodes.Ok;
            }
            if (rows.Count == 0)
            {
                ctx.Console.MarkupLine($"no queues under the prefix '{Markup.Escape(q.Options.KeyPrefix)}'");
                return ExitCodes.Ok;
            }
            var table = new Table().Border(TableBorder.Rounded).AddColumn("queue");
            foreach (string c in CountColumns)
            {
                table.AddColumn(new TableColumn(c).RightAligned());
            }
            foreach ((string n, JobQueueStats s) in rows)
            {
                table.AddRow(n, N(s.Queued[2]), N(s.Queued[1]), N(s.Queued[0]), N(s.Running), N(s.Delayed), s.Dead > 0 ? $"[red]{s.Dead}[/]" : "0");
            }
            ctx.Console.Write(table);
            return ExitCodes.Ok;
        }));

        show.SetAction(parse => run(parse, async (_, q, json) =>
        {
            string jobId = parse.GetValue(id)!;
            QueuedJobInfo? info = await q.GetJobAsync(jobId);
            if (info is null)
            {
                throw new CliException($"job {jobId} is not in queue '{q.Name}' (never enqueued there, or its record expired); check --queue and --prefix.");
            }
            if (json)
            {
                WriteJson(ctx.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("id", info.Id);
                    w.WriteString("name", info.Name);
                    w.WriteString("state", info.State.ToString().ToLowerInvariant());
                    w.WriteNumber("attempts", info.Attempts);
                    w.WriteNumber("max_retries", info.MaxRetries);
                    w.WriteString("priority", info.Priority.ToString().ToLowerInvariant());
                    w.WriteString("enqueued_at", info.EnqueuedAt.UtcDateTime.ToString("o", CultureInfo.InvariantCulture));
                    WriteNullable(w, "last_error", info.LastError);
                    WriteNullable(w, "owner", info.Owner);
                    w.WriteStartArray("history");
                    foreach ((DateTimeOffset at, string e) in info.History)
                    {
                        w.WriteStartObject();
                        w.WriteString("at", at.UtcDateTime.ToString("o", CultureInfo.InvariantCulture));
                        w.WriteString("event", e);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                });
                return ExitCodes.Ok;
            }
            var grid = new Grid().AddColumn().AddColumn();
            grid.AddRow("[bold]job[/]", Markup.Escape($"{info.Id} ({info.Name})"));
            grid.AddRow("[bold]state[/]", info.State == QueuedJobState.Dead ? "[red]dead[/]" : info.State.ToString().ToLowerInvariant());
            grid.AddRow("[bold]attempts[/]", $"{info.Attempts} of {info.MaxRetries + 1}");
            grid.AddRow("[bold]priority[/]", info.Priority.ToString().ToLowerInvariant());
            grid.AddRow("[bold]enqueued[/]", $"{info.EnqueuedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff}Z");
            grid.AddRow("[bold]owner[/]", Markup.Escape(info.Owner ?? "-"));
            grid.AddRow("[bold]last error[/]", Markup.Escape(info.LastError ?? "-"));
            ctx.Console.Write(grid);
            foreach ((DateTimeOffset at, string e) in info.History)
            {
                ctx.Console.MarkupLine($"  {at.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff}Z  {Markup.Escape(e)}");
            }
            return ExitCodes.Ok;
        }));

        dead.SetAction(parse => run(parse, async (_, q, json) =>
        {
            IReadOnlyList<(string JobId, string Error, int Attempts)> letters = await q.GetDeadLettersAsync(Math.Max(1, parse.GetValue(count)));
            if (json)
            {
                WriteJson(ctx.Out, w =>
                {
                    w.WriteStartArray();
                    foreach ((string jobId, string error, int attempts) in letters)
                    {
                        w.WriteStartObject();
                        w.WriteString("id", jobId);
                        w.WriteString("error", error);
                        w.WriteNumber("attempts", attempts);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
                return ExitCodes.Ok;
            }
            if (letters.Count == 0)
            {
                ctx.Console.MarkupLine($"no dead letters in queue '{Markup.Escape(q.Name)}'");
                return ExitCodes.Ok;
            }
            var table = new Table().Border(TableBorder.Rounded).AddColumn("job").AddColumn(new TableColumn("attempts").RightAligned()).AddColumn("last error");
            foreach ((string jobId, string error, int attempts) in letters)
            {
                table.AddRow(new Text(jobId), new Text(attempts.ToString(CultureInfo.InvariantCulture)), new Text(error));
            }
            ctx.Console.Write(table);
            return ExitCodes.Ok;
        }));

        retry.SetAction(parse => run(parse, async (_, q, json) =>
        {
            string jobId = parse.GetValue(retryId)!;
            bool retried;
            try
            {
                retried = await q.RetryDeadAsync(jobId);
            }
            catch (KeyNotFoundException e)
            {
                throw new CliException(e.Message, ExitCodes.Failures, e);
            }
            if (json)
            {
                WriteJson(ctx.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("id", jobId);
                    w.WriteBoolean("retried", retried);
                    w.WriteEndObject();
                });
            }
            else if (retried)
            {
                ctx.Console.MarkupLine($"job {Markup.Escape(jobId)} is queued again in '{Markup.Escape(q.Name)}' with fresh attempts");
            }
            if (!retried)
            {
                QueuedJobInfo? info = await q.GetJobAsync(jobId);
                ctx.Error.WriteLine($"aio: job {jobId} is {info?.State.ToString().ToLowerInvariant() ?? "unknown"}, not dead: only a dead job can be retried.");
                return ExitCodes.Failures;
            }
            return ExitCodes.Ok;
        }));

        purge.SetAction(parse =>
        {
            bool confirmed = parse.GetValue(yes);
            string name = parse.GetValue(queue)!;
            if (!confirmed)
            {
                if (ctx.Confirm is null)
                {
                    throw new CliException($"purge deletes every job of queue '{name}' and cannot be undone; there is no terminal to confirm it on: pass --yes.", ExitCodes.Usage);
                }
                if (!ctx.Confirm($"Delete every job of queue '{name}' (queued, running, delayed, dead, results)?"))
                {
                    ctx.Error.WriteLine("aio: purge cancelled; nothing was deleted.");
                    return ExitCodes.Failures;
                }
            }
            return run(parse, async (_, q, json) =>
            {
                long deleted = await q.PurgeAsync();
                if (json)
                {
                    WriteJson(ctx.Out, w =>
                    {
                        w.WriteStartObject();
                        w.WriteString("queue", q.Name);
                        w.WriteNumber("keys_deleted", deleted);
                        w.WriteEndObject();
                    });
                }
                else
                {
                    ctx.Console.MarkupLine($"purged queue '{Markup.Escape(q.Name)}': {deleted} key(s) deleted");
                }
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    /// <summary>A StackExchange.Redis configuration from <c>redis://[user:password@]host:port[/db]</c> or as given; fails fast.</summary>
    internal static string Configuration(string text)
    {
        string config = text;
        if (Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) && uri.Scheme is "redis" or "rediss")
        {
            config = $"{uri.Host}:{(uri.Port > 0 ? uri.Port : 6379)}";
            if (uri.UserInfo.Split(':', 2) is [var user, var password])
            {
                config += $",user={Uri.UnescapeDataString(user)},password={Uri.UnescapeDataString(password)}";
            }
            if (uri.AbsolutePath.Trim('/') is { Length: > 0 } db)
            {
                config += $",defaultDatabase={db}";
            }
            if (uri.Scheme == "rediss")
            {
                config += ",ssl=true";
            }
        }
        if (!config.Contains("connectTimeout", StringComparison.OrdinalIgnoreCase))
        {
            config += ",connectTimeout=3000,connectRetry=1";
        }
        return config;
    }

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteJson(TextWriter output, Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            write(w);
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
    }
}
