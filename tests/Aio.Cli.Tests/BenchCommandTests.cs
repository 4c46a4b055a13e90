using System.Text.Json;
using Aio.Cli.Bench;

namespace Aio.Cli.Tests;

/// <summary><c>aio bench</c>: reading saved runs, the ratio table, the PNG, and running the harness script of a checkout.</summary>
public sealed class BenchCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aio-bench-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // The shape bench/harness.py writes (results.json): medians under rows.<peer>.result.value; an unavailable row has "error".
    internal const string HarnessJson = """
        {"meta": {"date": "2026-12-03 09:41 UTC"},
         "results": {
          "W1": {"title": "callbacks", "n": 1000000, "unit": "callbacks/s", "rows": {
             "aio": {"result": {"value": 12000000.0}, "runs": []},
             "uvloop": {"result": {"value": 600000.0}, "runs": []},
             "node": {"error": "not available (node not found)"}}},
          "W3": {"title": "timers", "n": 100000, "unit": "s", "rows": {
             "aio": {"result": {"value": 1.05}, "runs": []},
             "uvloop": {"result": {"value": 2.1}, "runs": []}}},
          "W6": {"title": "TCP echo", "n": 200000, "unit": "round_trips/s", "rows": {
             "aio-protocol": {"result": {"value": 200000.0}, "runs": []},
             "aio-streams": {"result": {"value": 150000.0}, "runs": []},
             "uvloop-protocol": {"result": {"value": 160000.0}, "runs": []}}}
         }}
        """;

    [Fact]
    public void Bench_FromHarnessJson_PrintsRatiosAndDrawsAPng()
    {
        string results = Path.Combine(_dir, "results.json"), png = Path.Combine(_dir, "ratios.png");
        File.WriteAllText(results, HarnessJson);
        CliResult r = CliHarness.Run(["bench", "--from", results, "--plot", png]);
        Assert.Equal(0, r.ExitCode);
        string[] lines = r.Console.Split('\n');
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"│ W1 +│ uvloop +│ +600,000 │ callbacks/s +│ +20\.00× │"));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"│ W3 +│ uvloop +│ +2\.100 │ s +│ +2\.00× │"));
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"│ W6 +│ uvloop-protocol +│ +160,000 │ round_trips/s │ +1\.25× │"));
        Assert.Contains($"wrote {png} (3 bars)", r.Console, StringComparison.Ordinal);
        byte[] bytes = File.ReadAllBytes(png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        Assert.True(bytes.Length > 10_000, $"the PNG has only {bytes.Length} bytes");
    }

    [Fact]
    public void Bench_FromResultLines_Json_UsesTheMedianOfEachPeer()
    {
        string results = Path.Combine(_dir, "w8.txt");
        File.WriteAllLines(results,
        [
            "some progress line",
            "RESULT workload=W8 peer=aio value=9000 unit=req/s n=20000",
            "RESULT workload=W8 peer=aio value=10000 unit=req/s n=20000",
            "RESULT workload=W8 peer=aio value=11000 unit=req/s n=20000",
            "RESULT workload=W8 peer=dotnet value=8000 unit=req/s n=20000",
        ]);
        CliResult r = CliHarness.Run(["bench", "--json", "--from", results]);
        Assert.Equal(0, r.ExitCode);
        using JsonDocument doc = JsonDocument.Parse(r.Out);
        Assert.Equal(
            [("W8", "aio", 10000.0, (double?)null), ("W8", "dotnet", 8000.0, 1.25)],
            doc.RootElement.EnumerateArray().Select(e => (e.GetProperty("workload").GetString(), e.GetProperty("peer").GetString(),
                e.GetProperty("value").GetDouble(), e.GetProperty("aio_vs_peer").ValueKind == JsonValueKind.Null ? (double?)null : e.GetProperty("aio_vs_peer").GetDouble())));
    }

    [Fact]
    public void Bench_NotInACheckoutAndNoFrom_SaysWhatToDo_Exit2()
    {
        CliResult r = CliHarness.Run(["bench"], currentDirectory: _dir);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"aio: aio bench runs the project's benchmarks from a checkout of Aio (bench/run-peers.sh), and there is none at or above {_dir}. Run it there, or plot a saved run with --from FILE.{Environment.NewLine}", r.Error);
    }

    [Fact]
    public void Bench_InACheckout_RunsTheHarnessScriptWithTheSelectionAndReadsItsResults()
    {
        // A stand-in checkout whose bench/run-peers.sh records its arguments and writes a results.json to --out.
        Directory.CreateDirectory(Path.Combine(_dir, "bench"));
        File.WriteAllText(Path.Combine(_dir, "Aio.slnx"), "<Solution />");
        File.WriteAllText(Path.Combine(_dir, "results.json"), HarnessJson);
        File.WriteAllText(Path.Combine(_dir, "bench", "run-peers.sh"), """
            #!/usr/bin/env bash
            echo "$@" > "$(dirname "$0")/../args.txt"
            while [[ $# -gt 0 ]]; do [[ $1 == --out ]] && out=$2; shift; done
            echo "progress on stderr" >&2
            cp "$(dirname "$0")/../results.json" "$out/results.json"
            """);
        string png = Path.Combine(_dir, "out.png");
        CliResult r = CliHarness.Run(["bench", "--workloads", "w1,W3", "--peers", "aio,uvloop", "--repeat", "1", "--quick", "--plot", png],
            currentDirectory: Path.Combine(_dir, "bench"));
        Assert.Equal(0, r.ExitCode);
        string args = File.ReadAllText(Path.Combine(_dir, "args.txt")).Trim();
        Assert.Matches(@"^--only W1,W3 --peers aio,uvloop --repeat 1 --out /\S+ --quick$", args);
        Assert.True(File.Exists(png));
        Assert.Contains("20.00×", r.Console, StringComparison.Ordinal);
    }

    [Fact]
    public void ScriptArguments_EachScriptGetsOnlyTheChosenPeersItKnows()
    {
        string[] peers = ["aio", "uvloop", "node", "hangfire"];
        (string Id, string[]? Peers) W(string id) => BenchResults.ScriptWorkloads.Single(s => s.Id == id);
        Assert.Equal(["bench/run-peers.sh", "--only", "W9", "--repeat", "3", "--peers", "aio,node"],
            BenchCommand.ScriptArguments("W9", W("W9").Peers, peers, peersChosen: true, repeat: 3, quick: false));
        Assert.Equal(["bench/w11.sh", "--repeat", "1", "--n", "2000", "--peers", "aio,hangfire"],
            BenchCommand.ScriptArguments("W11", W("W11").Peers, peers, peersChosen: true, repeat: 1, quick: true));
        Assert.Equal(["bench/run-peers.sh", "W8"],
            BenchCommand.ScriptArguments("W8", W("W8").Peers, peers, peersChosen: true, repeat: 3, quick: false));
        Assert.Equal(["bench/run-peers.sh", "--only", "W10S", "--repeat", "2", "--duration", "2"],
            BenchCommand.ScriptArguments("W10S", W("W10S").Peers, BenchResults.AllPeers, peersChosen: false, repeat: 2, quick: true));
        Assert.Null(BenchCommand.ScriptArguments("W10S", W("W10S").Peers, ["uvloop", "hangfire"], peersChosen: true, repeat: 3, quick: false));
    }

    [Fact]
    public void Bench_InACheckout_RunsTheServerAndQueueScripts_PerCpuFiguresBecomeTheirOwnWorkload()
    {
        // Stand-in scripts: run-peers.sh answers --only W9 with RESULT lines as bench/w9.py prints them; w11.sh as bench/w11.sh.
        Directory.CreateDirectory(Path.Combine(_dir, "bench"));
        File.WriteAllText(Path.Combine(_dir, "Aio.slnx"), "<Solution />");
        File.WriteAllText(Path.Combine(_dir, "bench", "run-peers.sh"), """
            #!/usr/bin/env bash
            echo "run-peers.sh $*" >> "$(dirname "$0")/../args.txt"
            [[ $2 == W9 ]] || exit 0
            echo "RESULT workload=W9 peer=aio value=36000 unit=rt/s p99_us=6617 rt_per_cpu_s=60000 server_cpu_s=7.99"
            echo "RESULT workload=W9 peer=node value=24000 unit=rt/s p99_us=12509 rt_per_cpu_s=50000 server_cpu_s=5.01"
            """);
        File.WriteAllText(Path.Combine(_dir, "bench", "w11.sh"), """
            #!/usr/bin/env bash
            echo "w11.sh $*" >> "$(dirname "$0")/../args.txt"
            echo "# W11: n=20000"
            echo "RESULT workload=W11 peer=aio value=5000 unit=jobs/s lat_p50_ms=0.7"
            echo "RESULT workload=W11 peer=hangfire value=1000 unit=jobs/s lat_p50_ms=9.4"
            """);
        CliResult r = CliHarness.Run(["bench", "--json", "--workloads", "W9,W10S,W11", "--peers", "aio,node,hangfire", "--repeat", "1"], currentDirectory: _dir);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(
            ["run-peers.sh --only W9 --repeat 1 --peers aio,node", "run-peers.sh --only W10S --repeat 1 --peers aio,node", "w11.sh --repeat 1 --peers aio,hangfire"],
            File.ReadAllLines(Path.Combine(_dir, "args.txt")));
        using JsonDocument doc = JsonDocument.Parse(r.Out);
        Assert.Equal(
            [("W9", "node", 1.5), ("W9/cpu", "node", 1.2), ("W11", "hangfire", 5.0)],
            doc.RootElement.EnumerateArray().Where(e => e.GetProperty("aio_vs_peer").ValueKind == JsonValueKind.Number)
                .Select(e => (e.GetProperty("workload").GetString(), e.GetProperty("peer").GetString(), e.GetProperty("aio_vs_peer").GetDouble())));
    }
}
