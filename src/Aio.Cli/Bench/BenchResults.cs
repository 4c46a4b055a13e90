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
    /// <summary>The workloads of the harness that run through bench/run-peers.sh's harness (W7, W8: their own scripts).</summary>
    public static readonly string[] HarnessWorkloads = ["W1", "W2", "W3", "W4", "W5", "W6"];

    public static readonly string[] AllWorkloads = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8"];

    public static readonly string[] AllPeers = ["aio", "asyncio", "uvloop", "node", "dotnet", "c"];

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
                (values.TryGetValue((w, p), out List<double>? l) ? l : values[(w, p)] = []).Add(value);
                units[w] = fields.GetValueOrDefault("unit") ?? "";
            }
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
