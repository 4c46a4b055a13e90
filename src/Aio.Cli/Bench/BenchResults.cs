// BenchResults: the numbers of one benchmark run, read from the harness's results.json or from RESULT lines.
using System.Globalization;
using System.Text.Json;

namespace Aio.Cli.Bench;

/// <summary>One implementation's figure for one workload.</summary>
internal sealed record BenchRow(string Peer, double Value);

/// <summary>A workload's rows; <see cref="HigherIsBetter"/> decides which way a ratio points.</summary>
internal sealed record BenchWorkload(string Id, string Title, string Unit, bool HigherIsBetter, List<BenchRow> Rows)
{
    /// <summary>Aio's row (the best of several, as W6's protocol and streams servers), or null.</summary>
    public BenchRow? Aio => Rows.Where(r => IsAio(r.Peer)).OrderBy(r => HigherIsBetter ? -r.Value : r.Value).FirstOrDefault();

    public static bool IsAio(string peer) => peer == "aio" || peer.StartsWith("aio-", StringComparison.Ordinal);

    /// <summary>
    /// "Times better" of <paramref name="a"/> against <paramref name="b"/>, as the harness's tables read: a/b for
    /// throughput, b/a for time; &gt;1 favours <paramref name="a"/>.
    /// </summary>
    public double Ratio(BenchRow a, BenchRow b) => HigherIsBetter ? a.Value / b.Value : b.Value / a.Value;
}

internal static class BenchResults
{
    /// <summary>The workloads of the harness that run through bench/run-peers.sh's harness (the others: their own scripts).</summary>
    public static readonly string[] HarnessWorkloads = ["W1", "W2", "W3", "W4", "W5", "W6"];

    /// <summary>The peers bench/harness.py knows (W1–W6).</summary>
    public static readonly string[] HarnessPeers = ["aio", "asyncio", "uvloop", "node", "dotnet", "c"];

    /// <summary>
    /// The workloads with a script of their own and the peers each script knows (null: the script takes no peer list and
    /// runs all its clients, as W8).
    /// </summary>
    public static readonly (string Id, string[]? Peers)[] ScriptWorkloads =
    [
        ("W7", ["aio", "node", "kestrel", "aiohttp-asyncio", "aiohttp-uvloop"]),
        ("W8", null),
        ("W9", ["aio", "node", "kestrel", "aiohttp-asyncio", "aiohttp-uvloop"]),
        ("W10S", ["aio", "node", "kestrel"]),
        ("W11", ["aio", "celery-prefork", "celery-solo", "hangfire"]),
    ];

    public static readonly string[] AllWorkloads = [.. HarnessWorkloads, .. ScriptWorkloads.Select(s => s.Id)];

    public static readonly string[] AllPeers = [.. HarnessPeers.Concat(ScriptWorkloads.SelectMany(s => s.Peers ?? [])).Distinct()];

    /// <summary>Reads a results.json of bench/harness.py, or any text with RESULT lines (the median per workload and peer).</summary>
    public static List<BenchWorkload> Load(string path)
    {
        string text = File.ReadAllText(path);
        if (text.TrimStart().StartsWith('{'))
        {
            try
            {
                return FromHarnessJson(text);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new CliException($"--from: {path} is not a results.json of bench/harness.py ({e.Message}).", ExitCodes.Usage, e);
            }
        }
        List<BenchWorkload> parsed = FromResultLines(text.Split('\n'));
        if (parsed.Count == 0)
        {
            throw new CliException($"--from: {path} has no RESULT lines and is not a results.json of bench/harness.py.", ExitCodes.Usage);
        }
        return parsed;
    }

    public static List<BenchWorkload> FromHarnessJson(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        var list = new List<BenchWorkload>();
        foreach (JsonProperty w in doc.RootElement.GetProperty("results").EnumerateObject())
        {
            string unit = w.Value.GetProperty("unit").GetString() ?? "";
            var rows = new List<BenchRow>();
            foreach (JsonProperty row in w.Value.GetProperty("rows").EnumerateObject())
            {
                if (row.Value.TryGetProperty("result", out JsonElement result) && result.ValueKind == JsonValueKind.Object &&
                    result.TryGetProperty("value", out JsonElement value) && value.ValueKind == JsonValueKind.Number)
                {
                    rows.Add(new BenchRow(row.Name, value.GetDouble()));
                }
            }
            string title = w.Value.TryGetProperty("title", out JsonElement t) ? t.GetString() ?? w.Name : w.Name;
            list.Add(new BenchWorkload(w.Name, title, unit, HigherIsBetter(unit), rows));
        }
        return list;
    }

    public static List<BenchWorkload> FromResultLines(IEnumerable<string> lines)
    {
        var values = new Dictionary<(string Workload, string Peer), List<double>>();
        var units = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string raw in lines)
        {
            string line = raw.Trim();
            if (!line.StartsWith("RESULT ", StringComparison.Ordinal))
            {
                continue;
            }
            var fields = line[7..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(f => f.Split('=', 2)).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1], StringComparer.Ordinal);
            if (fields.TryGetValue("workload", out string? w) && fields.TryGetValue("peer", out string? p) &&
                fields.TryGetValue("value", out string? v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            {
                Add(w, p, value, fields.GetValueOrDefault("unit") ?? "");
                // A server workload's headline is its work per server CPU second (req_per_cpu_s, rt_per_cpu_s): it
                // becomes a workload of its own, "W7/cpu", beside the throughput.
                foreach ((string key, string text) in fields)
                {
                    if (key.EndsWith("_per_cpu_s", StringComparison.Ordinal) &&
                        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double perCpu))
                    {
                        Add(w + "/cpu", p, perCpu, key[..^"_per_cpu_s".Length] + "/cpu_s");
                    }
                }
            }
        }
        void Add(string workload, string peer, double value, string unit)
        {
            (values.TryGetValue((workload, peer), out List<double>? l) ? l : values[(workload, peer)] = []).Add(value);
            units[workload] = unit;
        }

        return [.. values.GroupBy(kv => kv.Key.Workload).Select(g => new BenchWorkload(g.Key, g.Key, units[g.Key], HigherIsBetter(units[g.Key]),
            [.. g.Select(kv => new BenchRow(kv.Key.Peer, Median(kv.Value)))]))];
    }

    /// <summary>Time is lower-is-better (W3's wall seconds); rates are higher-is-better.</summary>
    public static bool HigherIsBetter(string unit) => unit is not ("s" or "ms" or "us" or "µs" or "seconds");

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[(values.Count - 1) / 2];   // the lower median, as the harness
    }
}
