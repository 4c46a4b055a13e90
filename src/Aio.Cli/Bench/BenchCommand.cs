// aio bench: run the project's benchmark harness from a checkout (or read a saved run) and plot the ratios.
//
// Design note. Running means bench/run-peers.sh as an Aio subprocess: W1–W6 through the harness with
// --out <temporary directory>, whose results.json holds the medians; W7, W9 and W10S through the script's --only
// modes (bench/w7.py, w9.py, w10s.py), W8 through its W8 mode and W11 through bench/w11.sh, whose RESULT lines are
// read from standard output (a server workload's *_per_cpu_s figure becomes a workload of its own, "W7/cpu"). Each
// script gets only the chosen peers it knows. The scripts' progress (standard error) passes through.
// Ctrl+C cancels the main task, and Aio sends the script SIGTERM.
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Aio.Os;
using Spectre.Console;

namespace Aio.Cli.Bench;

internal static class BenchCommand
{
    public static Command Create(CliContext ctx)
    {
        var workloads = new Option<string[]>("--workloads", "-w")
        {
            Description = $"Workloads to run, comma-separated ({string.Join(',', BenchResults.AllWorkloads)}; default W1-W6)",
            CustomParser = r => ParseList(r, BenchResults.AllWorkloads, "workload", upper: true),
        };
        var peers = new Option<string[]>("--peers", "-p")
        {
            Description = $"Implementations to run, comma-separated ({string.Join(',', BenchResults.AllPeers)}; default all)",
            CustomParser = r => ParseList(r, BenchResults.AllPeers, "peer", upper: false),
        };
        var from = new Option<FileInfo>("--from") { Description = "Plot a saved run instead: a results.json of the harness, or a file of RESULT lines" };
        var plot = new Option<FileInfo>("--plot") { Description = "Write a PNG bar chart of Aio's ratios against each peer" };
        var repeat = new Option<int>("--repeat") { Description = "Runs per cell (the harness's --repeat; median shown)", DefaultValueFactory = _ => 3 };
        var quick = new Option<bool>("--quick") { Description = "The harness's smoke run: every n divided by 10" };
        AioCli.AtLeast(repeat, 1);
        var command = new Command("bench", "Run the benchmarks from a checkout (bench/run-peers.sh) or read a saved run; print the ratios and plot them")
        {
            workloads, peers, from, plot, repeat, quick,
        };
        command.SetAction(parse =>
        {
            bool json = parse.GetValue(AioCli.Json);
            List<BenchWorkload> results;
            if (parse.GetValue(from) is { } file)
            {
                if (!file.Exists)
                {
                    throw new CliException($"--from: {file.FullName} does not exist.", ExitCodes.Usage);
                }
                results = BenchResults.Load(file.FullName);
                if (parse.GetValue(workloads) is { Length: > 0 } only)
                {
                    results = [.. results.Where(w => only.Contains(w.Id, StringComparer.Ordinal))];
                }
            }
            else
            {
                string root = FindCheckout(ctx.CurrentDirectory)
                    ?? throw new CliException($"aio bench runs the project's benchmarks from a checkout of Aio (bench/run-peers.sh), and there is none at or above {ctx.CurrentDirectory}. Run it there, or plot a saved run with --from FILE.", ExitCodes.Usage);
                string[] selected = parse.GetValue(workloads) is { Length: > 0 } w ? w : BenchResults.HarnessWorkloads;
                string[]? chosenPeers = parse.GetValue(peers) is { Length: > 0 } p ? p : null;
                List<BenchWorkload>? ran = null;
                int code = ctx.RunOnLoop(async () =>
                {
                    ran = await RunHarnessAsync(root, selected, chosenPeers ?? BenchResults.AllPeers, chosenPeers is not null, parse.GetValue(repeat), parse.GetValue(quick), ctx);
                    return ExitCodes.Ok;
                });
                if (ran is null)
                {
                    return code;
                }
                results = ran;
            }
            Print(results, ctx, json);
            if (parse.GetValue(plot) is { } png)
            {
                int drawn = BenchPlot.Draw(results, png.FullName);
                if (drawn == 0)
                {
                    throw new CliException($"--plot: nothing to draw: the results have no workload with both an Aio row and a peer row.", ExitCodes.Failures);
                }
                if (!json)
                {
                    ctx.Console.MarkupLine($"wrote {Markup.Escape(png.FullName)} ({drawn} bars)");
                }
            }
            return results.Count == 0 ? ExitCodes.Failures : ExitCodes.Ok;
        });
        return command;
    }

    private static string[] ParseList(System.CommandLine.Parsing.ArgumentResult r, string[] allowed, string what, bool upper)
    {
        var list = new List<string>();
        foreach (string part in r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            string name = upper ? part.ToUpperInvariant() : part.ToLowerInvariant();
            if (!allowed.Contains(name, StringComparer.Ordinal))
            {
                r.AddError($"{(r.Parent as System.CommandLine.Parsing.OptionResult)?.Option.Name}: unknown {what} '{part}' (known: {string.Join(',', allowed)}).");
                return [];
            }
            list.Add(name);
        }
        return [.. list.Distinct()];
    }

    /// <summary>The checkout at or above <paramref name="directory"/>: the directory holding Aio.slnx and bench/run-peers.sh.</summary>
    internal static string? FindCheckout(string directory)
    {
        for (string? d = directory; d is not null; d = Path.GetDirectoryName(d))
        {
            if (File.Exists(Path.Combine(d, "Aio.slnx")) && File.Exists(Path.Combine(d, "bench", "run-peers.sh")))
            {
                return d;
            }
        }
        return null;
    }

    /// <summary>
    /// The command line of a workload with its own script: bench/w11.sh for W11, bench/run-peers.sh otherwise. The peers
    /// passed are those of <paramref name="peers"/> the script knows, or none (its default, every peer) when the user chose
    /// none; null when the user's choice leaves none of the script's peers.
    /// </summary>
    internal static List<string>? ScriptArguments(string id, string[]? known, string[] peers, bool peersChosen, int repeat, bool quick)
    {
        string count = repeat.ToString(CultureInfo.InvariantCulture);
        List<string> args = id switch
        {
            "W8" => ["bench/run-peers.sh", "W8"],
            "W11" => ["bench/w11.sh", "--repeat", count],
            _ => ["bench/run-peers.sh", "--only", id, "--repeat", count],
        };
        if (quick)
        {
            args.AddRange(id switch { "W8" => ["--n", "2000", "--warmup", "200"], "W11" => ["--n", "2000"], _ => ["--duration", "2"] });
        }
        if (known is not null && peersChosen)
        {
            string[] chosen = [.. peers.Where(known.Contains)];
            if (chosen.Length == 0)
            {
                return null;
            }
            args.AddRange(["--peers", string.Join(',', chosen)]);
        }
        return args;
    }

    private static async Task<List<BenchWorkload>> RunHarnessAsync(string root, string[] workloads, string[] peers, bool peersChosen, int repeat, bool quick, CliContext ctx)
    {
        var results = new List<BenchWorkload>();
        string[] harness = [.. workloads.Where(w => BenchResults.HarnessWorkloads.Contains(w))];
        string outDir = Directory.CreateTempSubdirectory("aio-bench-").FullName;
        try
        {
            string[] harnessPeers = [.. peers.Where(BenchResults.HarnessPeers.Contains)];
            if (harness.Length > 0 && harnessPeers.Length == 0)
            {
                ctx.Error.WriteLine($"aio bench: {string.Join(',', harness)} skipped: none of --peers {string.Join(',', peers)} runs them (their peers: {string.Join(',', BenchResults.HarnessPeers)}).");
            }
            else if (harness.Length > 0)
            {
                List<string> args = ["bench/run-peers.sh", "--only", string.Join(',', harness), "--peers", string.Join(',', harnessPeers), "--repeat", repeat.ToString(CultureInfo.InvariantCulture), "--out", outDir];
                if (quick)
                {
                    args.Add("--quick");
                }
                await RunScriptAsync(root, args, ctx);
                string json = Path.Combine(outDir, "results.json");
                if (!File.Exists(json))
                {
                    throw new CliException($"bench/run-peers.sh wrote no {json}; see its messages above.");
                }
                results.AddRange(BenchResults.FromHarnessJson(await File.ReadAllTextAsync(json)));
            }
            foreach ((string id, string[]? known) in BenchResults.ScriptWorkloads)
            {
                if (!workloads.Contains(id))
                {
                    continue;
                }
                List<string>? args = ScriptArguments(id, known, peers, peersChosen, repeat, quick);
                if (args is null)
                {
                    ctx.Error.WriteLine($"aio bench: {id} skipped: none of --peers {string.Join(',', peers)} runs it (its peers: {string.Join(',', known!)}).");
                    continue;
                }
                string output = await RunScriptAsync(root, args, ctx);
                results.AddRange(BenchResults.FromResultLines(output.Split('\n')));
            }
        }
        finally
        {
            Directory.Delete(outDir, recursive: true);
        }
        return results;
    }

    /// <summary>Runs the script <c>args[0]</c> (relative to the checkout) with the rest of <paramref name="args"/>; its standard error passes through; returns its standard output.</summary>
    private static async Task<string> RunScriptAsync(string root, List<string> args, CliContext ctx)
    {
        AioProcess process = await Asyncio.CreateSubprocessExecAsync("bash", [Path.Combine(root, args[0]), .. args.Skip(1)], new ProcessOptions
        {
            WorkingDirectory = root,
            Stdout = ProcessStdio.Pipe,
            Stderr = ProcessStdio.Inherit,
        });
        (byte[]? stdout, _) = await process.CommunicateAsync();
        string text = System.Text.Encoding.UTF8.GetString(stdout ?? []);
        if (process.ReturnCode != 0)
        {
            throw new CliException($"{string.Join(' ', args)} failed with exit code {process.ReturnCode}.");
        }
        return text;
    }

    private static void Print(List<BenchWorkload> results, CliContext ctx, bool json)
    {
        if (json)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartArray();
                foreach (BenchWorkload wl in results)
                {
                    BenchRow? aio = wl.Aio;
                    foreach (BenchRow row in wl.Rows)
                    {
                        w.WriteStartObject();
                        w.WriteString("workload", wl.Id);
                        w.WriteString("peer", row.Peer);
                        w.WriteNumber("value", row.Value);
                        w.WriteString("unit", wl.Unit);
                        w.WriteBoolean("higher_is_better", wl.HigherIsBetter);
                        if (aio is not null && !BenchWorkload.IsAio(row.Peer) && row.Value > 0)
                        {
                            w.WriteNumber("aio_vs_peer", Math.Round(wl.Ratio(aio, row), 4));
                        }
                        else
                        {
                            w.WriteNull("aio_vs_peer");
                        }
                        w.WriteEndObject();
                    }
                }
                w.WriteEndArray();
            }
            ctx.Out.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumn("workload").AddColumn("peer")
            .AddColumn(new TableColumn("value").RightAligned()).AddColumn("unit").AddColumn(new TableColumn("aio vs peer").RightAligned());
        foreach (BenchWorkload wl in results)
        {
            BenchRow? aio = wl.Aio;
            foreach (BenchRow row in wl.Rows)
            {
                string ratio = aio is not null && !BenchWorkload.IsAio(row.Peer) && row.Value > 0
                    ? string.Create(CultureInfo.InvariantCulture, $"{wl.Ratio(aio, row):0.00}×")
                    : "–";
                table.AddRow(wl.Id, row.Peer, row.Value.ToString(wl.HigherIsBetter ? "N0" : "0.000", CultureInfo.InvariantCulture), wl.Unit, ratio);
            }
        }
        ctx.Console.Write(table);
    }
}
