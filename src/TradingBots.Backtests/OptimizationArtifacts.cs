using System.Text.Json;
using TradingBots.Events;

namespace TradingBots.Backtests;

/// <summary>A parameter search as POST /optimizations asks for it: the knob ranges, grid or seeded random draws, the metric, the folds.</summary>
public sealed record SearchSpec(IReadOnlyList<KnobRange> Ranges, string Search, int? Trials, int Seed, string Metric, int Folds)
{
    public const string Grid = "grid", Random = "random";

    public string ToJson() => JsonSerializer.Serialize(this, WireJson.Options);

    public static SearchSpec FromJson(string json) => JsonSerializer.Deserialize<SearchSpec>(json, WireJson.Options)!;

    public OptimizationSetup Setup(BacktestSetup backtest, string baseKnobs) =>
        new(backtest.Strategy, baseKnobs, Ranges, Search == Random, Trials, Seed, Metric, Folds, backtest);
}

/// <summary>One trial as a search's summary lists it.</summary>
public sealed record TrialView(int Rank, int Trial, IReadOnlyDictionary<string, decimal> Knobs, decimal? Score, decimal? InSample, decimal? OutOfSample,
    decimal? TotalReturn, decimal? MaxDrawdown, int? TradeCount, string? Skipped);

/// <summary>
/// A completed search's figures (GET /optimizations/{id} and summary.json): what it ranked by, how many trials ran and were
/// skipped, the best <see cref="Shown"/> of them (all of them in trials.csv), and the walk-forward's folds (in-sample
/// against out-of-sample: where over-fitting shows).
/// </summary>
public sealed record OptimizationSummary(string Metric, string Search, int Trials, int Skipped, IReadOnlyList<TrialView> Best, IReadOnlyList<Fold> Folds,
    int Candles, int CandlesFetched)
{
    public const int Shown = 10;

    public static OptimizationSummary From(SearchSpec spec, OptimizationResult result, int candles, int candlesFetched) =>
        new(spec.Metric, spec.Search, result.Trials.Count, result.Trials.Count(t => t.Skipped is not null),
            [.. result.Trials.Take(Shown).Select((t, i) => new TrialView(i + 1, t.Number, t.Knobs, t.Score, t.InSample, t.OutOfSample, t.Summary?.TotalReturn,
                t.Summary?.MaxDrawdown, t.Summary?.TradeCount, t.Skipped))],
            result.Folds, candles, candlesFetched);

    public string ToJson() => JsonSerializer.Serialize(this, WireJson.Options);
}

/// <summary>The files a completed search leaves: trials.csv (every trial, ranked), summary.json, and heatmap.png for two knobs.</summary>
public static class OptimizationArtifacts
{
    public const string Trials = "trials.csv", Summary = "summary.json", Heatmap = "heatmap.png";

    public static IReadOnlyList<string> Names { get; } = [Trials, Summary, Heatmap];

    /// <summary>The names a search of these ranges writes: the heat map only for exactly two knobs.</summary>
    public static IReadOnlyList<string> NamesFor(int ranges) => ranges == 2 ? Names : [Trials, Summary];

    public static Task WriteAsync(string directory, OptimizationSetup setup, OptimizationSummary summary, OptimizationResult result,
        CancellationToken cancellationToken) =>
        BacktestArtifacts.WriteAllAsync(directory, async writing =>
        {
            await File.WriteAllTextAsync(Path.Combine(writing, Summary), summary.ToJson(), cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(writing, Trials), Optimizer.Csv(setup, result), cancellationToken);
            if (setup.Ranges.Count == 2) HeatmapPng(Path.Combine(writing, Heatmap), setup, result);
        });

    /// <summary>The score of each (first knob, second knob) cell: the first knob along x, the second along y; a skipped trial blank.</summary>
    private static void HeatmapPng(string path, OptimizationSetup setup, OptimizationResult result)
    {
        var (xs, ys) = (setup.Ranges[0].Values(), setup.Ranges[1].Values());
        var cells = new double[ys.Count, xs.Count];
        for (var r = 0; r < ys.Count; r++) for (var c = 0; c < xs.Count; c++) cells[r, c] = double.NaN;
        Func<Trial, decimal?> score = setup.Folds > 0 ? t => t.InSample : t => t.Score;
        foreach (var trial in result.Trials)
        {
            if (score(trial) is not { } value) continue;
            var (c, r) = (IndexOf(xs, trial.Knobs[setup.Ranges[0].Knob]), IndexOf(ys, trial.Knobs[setup.Ranges[1].Knob]));
            if (c >= 0 && r >= 0) cells[ys.Count - 1 - r, c] = (double)value; // row 0 is drawn at the top
        }
        var plot = new ScottPlot.Plot();
        var heatmap = plot.Add.Heatmap(cells);
        heatmap.Extent = new ScottPlot.CoordinateRect((double)xs[0], (double)xs[^1], (double)ys[0], (double)ys[^1]);
        plot.Add.ColorBar(heatmap);
        plot.Title($"{setup.Metric}{(setup.Folds > 0 ? " (in-sample mean)" : "")} by {setup.Ranges[0].Knob} and {setup.Ranges[1].Knob}");
        plot.XLabel(setup.Ranges[0].Knob);
        plot.YLabel(setup.Ranges[1].Knob);
        // A tick at each value searched (at most 20 labels an axis), not at the fractions between them.
        static (double[] At, string[] Labels) Ticks(IReadOnlyList<decimal> values)
        {
            var every = Math.Max(1, (values.Count + 19) / 20);
            var shown = values.Where((_, i) => i % every == 0).ToList();
            return ([.. shown.Select(v => (double)v)], [.. shown.Select(v => (v / 1.000000000000000000000000000000000m).ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        }
        var (xAt, xLabels) = Ticks(xs);
        var (yAt, yLabels) = Ticks(ys);
        plot.Axes.Bottom.SetTicks(xAt, xLabels);
        plot.Axes.Left.SetTicks(yAt, yLabels);
        plot.SavePng(path, 900, 700);
    }

    private static int IndexOf(IReadOnlyList<decimal> values, decimal value)
    {
        for (var i = 0; i < values.Count; i++) if (values[i] == value) return i;
        return -1;
    }
}
