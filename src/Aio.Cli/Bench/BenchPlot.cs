// BenchPlot: PNG bar charts of Aio's ratios against its peers (ScottPlot, drawn by SkiaSharp; no display needed).
using ScottPlot;
using ScottPlot.TickGenerators;

namespace Aio.Cli.Bench;

internal static class BenchPlot
{
    private static readonly Color[] Palette =
    [
        Color.FromHex("#4C72B0"), Color.FromHex("#DD8452"), Color.FromHex("#55A868"), Color.FromHex("#C44E52"),
        Color.FromHex("#8172B3"), Color.FromHex("#937860"), Color.FromHex("#DA8BC3"), Color.FromHex("#8C8C8C"),
    ];

    /// <summary>
    /// One bar per (workload, peer): how many times better Aio is than the peer, on a log scale, with the value written
    /// on the bar; the line at 1× is parity. Workloads without an Aio row are left out; returns the bars drawn.
    /// </summary>
    public static int Draw(IReadOnlyList<BenchWorkload> workloads, string path, int width = 1000, int height = 520, string? title = null)
    {
        List<BenchWorkload> shown = [.. workloads.Where(w => w.Aio is not null && w.Rows.Any(r => !BenchWorkload.IsAio(r.Peer)))];
        List<string> peers = [.. shown.SelectMany(w => w.Rows.Select(r => r.Peer)).Where(p => !BenchWorkload.IsAio(p)).Distinct()];
        var plot = new Plot();
        var bars = new List<ScottPlot.Bar>();
        double minLog = 0, maxLog = 0;
        for (int wi = 0; wi < shown.Count; wi++)
        {
            BenchWorkload w = shown[wi];
            BenchRow aio = w.Aio!;
            // The peers this workload has, centred on its tick: a workload with one peer gets one bar in the middle.
            List<(int Index, BenchRow Row)> present = [.. peers.Select((p, i) => (i, w.Rows.FirstOrDefault(r => r.Peer == p)))
                .Where(x => x.Item2 is { Value: > 0 } && aio.Value > 0).Select(x => (x.i, x.Item2!))];
            double barWidth = present.Count == 0 ? 0 : Math.Min(0.3, 0.8 / present.Count);
            for (int k = 0; k < present.Count; k++)
            {
                (int pi, BenchRow peer) = present[k];
                double ratio = w.Ratio(aio, peer);
                double log = Math.Log10(ratio);
                minLog = Math.Min(minLog, log);
                maxLog = Math.Max(maxLog, log);
                bars.Add(new ScottPlot.Bar
                {
                    Position = wi - barWidth * present.Count / 2 + barWidth * (k + 0.5),
                    Value = log,
                    ValueBase = 0,
                    Size = barWidth * 0.9,
                    FillColor = Palette[pi % Palette.Length],
                    LineWidth = 0,
                    Label = ratio >= 10 ? $"{ratio:0}×" : $"{ratio:0.0}×",
                });
            }
        }
        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 11;
        for (int pi = 0; pi < peers.Count; pi++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"vs {peers[pi]}", FillColor = Palette[pi % Palette.Length] });
        }
        plot.Legend.IsVisible = peers.Count > 0;
        plot.Legend.Alignment = Alignment.UpperRight;
        plot.Add.HorizontalLine(0, 1, Colors.Black);
        plot.Axes.Bottom.TickGenerator = new NumericManual(
            [.. Enumerable.Range(0, shown.Count).Select(i => (double)i)],
            [.. shown.Select(w => w.Id)]);
        var ticks = new NumericManual();
        foreach (double t in new[] { 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500 })
        {
            if (Math.Log10(t) >= Math.Floor(minLog) - 0.01 && Math.Log10(t) <= Math.Ceiling(maxLog + 0.15) + 0.01)
            {
                ticks.AddMajor(Math.Log10(t), t >= 1 ? $"{t:0}×" : $"{t:0.##}×");
            }
        }
        plot.Axes.Left.TickGenerator = ticks;
        plot.Axes.SetLimitsY(Math.Floor(minLog * 10) / 10 - 0.1, maxLog + 0.25);
        plot.Axes.SetLimitsX(-0.6, Math.Max(0.6, shown.Count - 0.4));
        plot.Axes.Left.Label.Text = "times better than the peer (log scale)";
        plot.Title(title ?? "Aio against its peers (same run; >1× favours Aio)");
        plot.SavePng(path, width, height);
        return bars.Count;
    }
}
