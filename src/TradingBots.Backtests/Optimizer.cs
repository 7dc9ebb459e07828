using System.Globalization;
using System.Text.Json;
using TradingBots.Paper;
using TradingBots.Strategies;

namespace TradingBots.Backtests;

/// <summary>One knob's search range: <see cref="From"/>, <see cref="From"/> + <see cref="Step"/>, … up to <see cref="To"/>.</summary>
public sealed record KnobRange(string Knob, decimal From, decimal To, decimal Step)
{
    public IReadOnlyList<decimal> Values()
    {
        var values = new List<decimal>();
        for (var v = From; v <= To && values.Count <= Optimizer.MaxTrials; v += Step) values.Add(v);
        return values;
    }
}

/// <summary>The metrics a search ranks by; higher is better for each score (max drawdown is scored negated).</summary>
public static class Metrics
{
    public const string Sharpe = "sharpe", Sortino = "sortino", TotalReturn = "total_return", MaxDrawdown = "max_drawdown", ProfitFactor = "profit_factor";

    public static IReadOnlyList<string> All { get; } = [Sharpe, Sortino, TotalReturn, MaxDrawdown, ProfitFactor];

    /// <summary>The run's score by <paramref name="metric"/>: null when the metric is undefined for it (no deviation, no loss).</summary>
    public static decimal? Score(RunSummary summary, string metric) => metric switch
    {
        Sharpe => summary.Sharpe,
        Sortino => summary.Sortino,
        TotalReturn => summary.TotalReturn,
        MaxDrawdown => -summary.MaxDrawdown,
        ProfitFactor => summary.ProfitFactor,
        _ => throw new ArgumentException($"no metric '{metric}'; known: {string.Join(", ", All)}", nameof(metric)),
    };
}

/// <summary>
/// A parameter search: <see cref="Ranges"/> over a strategy's numeric knobs (the rest from <see cref="BaseKnobs"/>), every
/// combination (grid) or <see cref="Trials"/> of them drawn with <see cref="Seed"/> (random), each backtested on the same
/// candles and scored by <see cref="Metric"/>. With <see cref="Folds"/> k ≥ 1 it walks forward: the range is cut into k + 1
/// equal windows, and fold i tunes on window i (the best trial there) and scores that choice on window i + 1.
/// </summary>
public sealed record OptimizationSetup(IStrategy Strategy, string BaseKnobs, IReadOnlyList<KnobRange> Ranges, bool Random, int? Trials, int Seed,
    string Metric, int Folds, BacktestSetup Backtest);

/// <summary>
/// One trial: its knobs, its score over the whole range (no walk-forward) or its mean in-sample and out-of-sample scores
/// (walk-forward: windows 0 … k−1 and 1 … k), the summary of its run over the whole range, and why it was skipped (knobs
/// that conflict).
/// </summary>
public sealed record Trial(int Number, IReadOnlyDictionary<string, decimal> Knobs, decimal? Score, decimal? InSample, decimal? OutOfSample,
    RunSummary? Summary, string? Skipped);

/// <summary>A trial's run: the trial, and its score on each walk-forward window (none without folds), which the folds choose by.</summary>
public sealed record TrialRun(Trial Trial, decimal?[] Windows);

/// <summary>
/// What the Worker holding a search fixed for every Worker that runs a share of its trials: the candles read up to (open
/// time, exclusive) and the exchange rules applied (null when none), so each trial runs on the same inputs wherever it runs.
/// </summary>
public sealed record SearchPlan(long Until, IReadOnlyDictionary<string, ExchangeRules>? Rules)
{
    public string ToJson() => JsonSerializer.Serialize(this, TrialJson.Default.SearchPlan);

    public static SearchPlan FromJson(string json) => JsonSerializer.Deserialize(json, TrialJson.Default.SearchPlan)!;
}

/// <summary>A walk-forward fold: the trial chosen on its in-sample window and its score there and on the next window.</summary>
public sealed record Fold(int Number, long InSampleFrom, long OutOfSampleFrom, long OutOfSampleTo, int Trial, decimal? InSample, decimal? OutOfSample);

/// <summary>The trials ranked (best first, skipped and unscored last), and the folds of a walk-forward.</summary>
public sealed record OptimizationResult(IReadOnlyList<Trial> Trials, IReadOnlyList<Fold> Folds);

/// <summary>
/// Runs a parameter search on candles read once (<see cref="Backtester"/> per trial and window, trials side by side on
/// every core). Deterministic: the same setup and candles rank the same trials with the same scores.
/// </summary>
public static class Optimizer
{
    /// <summary>Trials one search runs at most.</summary>
    public const int MaxTrials = 10_000;

    /// <summary>The knob combinations to try, in trial order: the grid's (first range slowest), or the draws without repeats.</summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, decimal>> Candidates(IReadOnlyList<KnobRange> ranges, bool random, int? trials, int seed)
    {
        var values = ranges.Select(r => r.Values()).ToList();
        var combinations = values.Aggregate(1L, (n, v) => n * v.Count);
        if (!random)
        {
            if (combinations > MaxTrials) throw new ArgumentException($"the grid has {combinations:N0} combinations; at most {MaxTrials:N0}");
            var grid = new List<IReadOnlyDictionary<string, decimal>>();
            for (var n = 0L; n < combinations; n++)
            {
                var at = new int[ranges.Count];
                var rest = n;
                for (var r = ranges.Count - 1; r >= 0; r--)
                {
                    at[r] = (int)(rest % values[r].Count);
                    rest /= values[r].Count;
                }
                // In the ranges' order (what the job's message and the summary's knobs list them in).
                grid.Add(ranges.Select((range, r) => (range.Knob, Value: values[r][at[r]])).ToDictionary(k => k.Knob, k => k.Value, StringComparer.Ordinal));
            }
            return grid;
        }
        var wanted = (int)Math.Min(Math.Min(trials ?? 100, MaxTrials), combinations);
        var draw = new Random(seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var drawn = new List<IReadOnlyDictionary<string, decimal>>();
        while (drawn.Count < wanted)
        {
            var knobs = ranges.Select((r, i) => (r.Knob, Value: values[i][draw.Next(values[i].Count)])).ToDictionary(k => k.Knob, k => k.Value, StringComparer.Ordinal);
            if (seen.Add(string.Join(",", ranges.Select(r => knobs[r.Knob])))) drawn.Add(knobs);
        }
        return drawn;
    }

    /// <summary>Chunks one search's trials are cut into at most, for the Workers to share.</summary>
    public const int MaxChunks = 64;

    /// <summary>
    /// A search's <paramref name="trials"/> cut into chunks of consecutive trials (first 0-based, count), at most
    /// <see cref="MaxChunks"/>, their sizes differing by at most one: each is run on one core of whichever Worker takes it.
    /// </summary>
    public static IReadOnlyList<(int First, int Count)> Chunks(int trials)
    {
        var chunks = Math.Min(trials, MaxChunks);
        return [.. Enumerable.Range(0, chunks).Select(c => (trials * c / chunks, trials * (c + 1) / chunks - trials * c / chunks))];
    }

    /// <summary>Trial runs as JSON that reads back to the same values (decimals keep their scale): a chunk's results between Workers.</summary>
    public static string ToJson(TrialRun[] runs) => JsonSerializer.Serialize(runs, TrialJson.Default.TrialRunArray);

    public static TrialRun[] FromJson(string json) => JsonSerializer.Deserialize(json, TrialJson.Default.TrialRunArray)!;

    /// <summary>The base knobs (a JSON object) with a trial's values written over them.</summary>
    public static string Merge(string baseKnobs, IReadOnlyDictionary<string, decimal> values)
    {
        using var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(baseKnobs) ? "{}" : baseKnobs);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var knob in document.RootElement.EnumerateObject().Where(k => !values.ContainsKey(k.Name))) knob.WriteTo(writer);
            foreach (var (name, value) in values) writer.WriteNumber(name, value);
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <param name="progress">Told the trials done so far (from any thread); where to cancel.</param>
    public static OptimizationResult Run(OptimizationSetup setup, IReadOnlyDictionary<string, Candle[]> candles, Action<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var candidates = Candidates(setup.Ranges, setup.Random, setup.Trials, setup.Seed);
        var runs = new TrialRun[candidates.Count];
        var done = 0;
        Parallel.For(0, candidates.Count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            runs[i] = RunTrial(setup, candidates, i, candles, cancellationToken);
            progress?.Invoke(Interlocked.Increment(ref done));
        });
        return Rank(setup, runs);
    }

    /// <summary>
    /// Trials <paramref name="first"/> … <paramref name="first"/> + <paramref name="count"/> − 1 (0-based) of the search, one
    /// after the other: a share of a search that several Workers run (each share on one core), ranked once all are in
    /// (<see cref="Rank"/>). The same trials give the same runs wherever they are run.
    /// </summary>
    public static TrialRun[] RunTrials(OptimizationSetup setup, IReadOnlyList<IReadOnlyDictionary<string, decimal>> candidates, int first, int count,
        IReadOnlyDictionary<string, Candle[]> candles, CancellationToken cancellationToken = default) =>
        [.. Enumerable.Range(first, count).Select(i => RunTrial(setup, candidates, i, candles, cancellationToken))];

    /// <summary>Trial <paramref name="i"/> (0-based): its backtest over the whole range and, walking forward, over each window.</summary>
    private static TrialRun RunTrial(OptimizationSetup setup, IReadOnlyList<IReadOnlyDictionary<string, decimal>> candidates, int i,
        IReadOnlyDictionary<string, Candle[]> candles, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var windows = Windows(setup);
        var json = Merge(setup.BaseKnobs, candidates[i]);
        using var document = JsonDocument.Parse(json);
        var errors = StrategyRegistry.Validate(setup.Strategy, document.RootElement);
        if (errors.Count > 0)
            return new TrialRun(new Trial(i + 1, candidates[i], null, null, null, null, string.Join("; ", errors.Select(e => $"{e.Key} {string.Join(", ", e.Value)}"))),
                new decimal?[windows.Count]);
        var knobs = KnobValues.Parse(json, StrategyRegistry.KnobsOf(setup.Strategy));
        var whole = Backtester.Run(setup.Backtest with { Strategy = setup.Strategy, Knobs = knobs }, candles, cancellationToken: cancellationToken).Summary;
        decimal?[] scores = [.. windows.Select(w => Metrics.Score(Backtester.Run(setup.Backtest with { Strategy = setup.Strategy, Knobs = knobs, From = w.From, To = w.To },
            candles, cancellationToken: cancellationToken).Summary, setup.Metric))];
        var (inSample, outOfSample) = windows.Count == 0 ? (null, null) : (Mean(scores[..^1]), Mean(scores[1..]));
        return new TrialRun(new Trial(i + 1, candidates[i], Metrics.Score(whole, setup.Metric), inSample, outOfSample, whole, null), scores);
    }

    /// <summary>
    /// The search's result from every trial's run (in any order): the folds' choices (each window's best trial, ties by trial
    /// order) and the trials ranked by the whole range's score, or with folds by the in-sample mean (what a tuner would pick
    /// by); ties by trial order, skipped and unscored last.
    /// </summary>
    public static OptimizationResult Rank(OptimizationSetup setup, IReadOnlyCollection<TrialRun> runs)
    {
        var windows = Windows(setup);
        var byNumber = runs.OrderBy(r => r.Trial.Number).ToList();
        var folds = new List<Fold>();
        for (var f = 0; f + 1 < windows.Count; f++)
        {
            var best = byNumber.Where(r => r.Windows[f] is not null).OrderByDescending(r => r.Windows[f]).FirstOrDefault();
            if (best is null) continue;
            folds.Add(new Fold(f + 1, windows[f].From, windows[f + 1].From, windows[f + 1].To, best.Trial.Number, best.Windows[f], best.Windows[f + 1]));
        }
        Func<Trial, decimal?> rank = setup.Folds > 0 ? t => t.InSample : t => t.Score;
        var ranked = byNumber.Select(r => r.Trial).OrderBy(t => rank(t) is null).ThenByDescending(t => rank(t) ?? 0).ThenBy(t => t.Number).ToList();
        return new OptimizationResult(ranked, folds);
    }

    /// <summary>The walk-forward's k + 1 equal windows of whole candles (none without folds).</summary>
    private static IReadOnlyList<(long From, long To)> Windows(OptimizationSetup setup)
    {
        if (setup.Folds <= 0) return [];
        var step = Timeframes.Milliseconds(setup.Backtest.Timeframe)!.Value;
        var candles = (setup.Backtest.To - setup.Backtest.From) / step;
        var parts = setup.Folds + 1;
        if (candles < parts) throw new ArgumentException($"{candles} candles cannot make {parts} windows");
        return [.. Enumerable.Range(0, parts).Select(p => (setup.Backtest.From + candles * p / parts * step, setup.Backtest.From + candles * (p + 1) / parts * step))];
    }

    private static decimal? Mean(decimal?[] scores) => scores.Any(s => s is null) ? null : scores.Sum(s => s!.Value) / scores.Length;

    /// <summary>trials.csv: one row per trial, ranked, with its knobs (one column each), scores and headline figures.</summary>
    public static string Csv(OptimizationSetup setup, OptimizationResult result)
    {
        static string N(decimal? v) => v is { } x ? (x / 1.000000000000000000000000000000000m).ToString(CultureInfo.InvariantCulture) : "";
        var knobs = setup.Ranges.Select(r => r.Knob).ToList();
        var csv = new System.Text.StringBuilder($"rank,trial,{string.Join(',', knobs)},score,in_sample,out_of_sample,total_return,max_drawdown,trade_count,skipped\r\n");
        for (var i = 0; i < result.Trials.Count; i++)
        {
            var t = result.Trials[i];
            csv.Append($"{i + 1},{t.Number},{string.Join(',', knobs.Select(k => N(t.Knobs[k])))},{N(t.Score)},{N(t.InSample)},{N(t.OutOfSample)},"
                + $"{N(t.Summary?.TotalReturn)},{N(t.Summary?.MaxDrawdown)},{t.Summary?.TradeCount},{(t.Skipped is null ? "" : $"\"{t.Skipped.Replace("\"", "\"\"")}\"")}\r\n");
        }
        return csv.ToString();
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(TrialRun[]))]
[System.Text.Json.Serialization.JsonSerializable(typeof(SearchPlan))]
internal sealed partial class TrialJson : System.Text.Json.Serialization.JsonSerializerContext;
