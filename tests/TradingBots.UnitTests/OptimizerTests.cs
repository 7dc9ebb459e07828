using TradingBots.Backtests;
using TradingBots.Strategies;

namespace TradingBots.UnitTests;

/// <summary>Parameter search: the candidates it tries, the ranking of their backtests, the walk-forward's folds.</summary>
public sealed class OptimizerTests
{
    private const long Minute = 60_000;
    private static readonly Baseline Strategy = new();

    /// <summary>BacktesterTests' series: candles 0 and 1 the warm-up of slow 2, 2–6 the range, 7 after it.</summary>
    private static readonly Candle[] Series = [.. new (decimal Open, decimal Close)[] { (10, 10), (10, 10), (10, 10), (10, 12.5m), (10, 12.5m), (12.5m, 8), (8.5m, 10), (11, 11) }
        .Select((c, i) => new Candle(i * Minute, c.Open, Math.Max(c.Open, c.Close), Math.Min(c.Open, c.Close), c.Close, 1m))];

    private static OptimizationSetup Setup(IReadOnlyList<KnobRange> ranges, string metric = Metrics.TotalReturn, int folds = 0, long from = 2, long to = 7) =>
        new(Strategy, """{"order_quote": 100}""", ranges, Random: false, Trials: null, Seed: 0, metric, folds,
            new BacktestSetup(Strategy, KnobValues.Parse("{}", StrategyRegistry.KnobsOf(Strategy)), ["BTC/USDT"], "1m", from * Minute, to * Minute, 1000m, 0.001m));

    private static OptimizationResult Run(OptimizationSetup setup, Candle[]? candles = null) =>
        Optimizer.Run(setup, new Dictionary<string, Candle[]> { ["BTC/USDT"] = candles ?? Series }, cancellationToken: TestContext.Current.CancellationToken);

    [Fact]
    public void A_grid_tries_every_combination_first_range_slowest()
    {
        var candidates = Optimizer.Candidates([new("fast", 1, 3, 1), new("slow", 4, 5, 1)], random: false, trials: null, seed: 0);

        Assert.Equal([(1m, 4m), (1m, 5m), (2m, 4m), (2m, 5m), (3m, 4m), (3m, 5m)], candidates.Select(c => (c["fast"], c["slow"])));
        Assert.All(candidates, c => Assert.Equal(["fast", "slow"], c.Keys)); // in the ranges' order
    }

    [Fact]
    public void Random_draws_are_distinct_and_the_same_for_a_seed()
    {
        KnobRange[] ranges = [new("fast", 1, 10, 1), new("slow", 11, 30, 1)];

        var first = Optimizer.Candidates(ranges, random: true, trials: 25, seed: 7);
        var again = Optimizer.Candidates(ranges, random: true, trials: 25, seed: 7);

        Assert.Equal(25, first.Select(c => (c["fast"], c["slow"])).Distinct().Count());
        Assert.Equal(first.Select(c => (c["fast"], c["slow"])), again.Select(c => (c["fast"], c["slow"])));
        Assert.Equal(6, Optimizer.Candidates([new("fast", 1, 3, 1), new("slow", 4, 5, 1)], random: true, trials: 100, seed: 1).Count); // all there are
    }

    [Fact]
    public void A_trials_values_are_written_over_the_base_knobs() =>
        Assert.Equal("""{"order_quote":50,"fast":2}""", Optimizer.Merge("""{"order_quote": 50, "fast": 9}""", new Dictionary<string, decimal> { ["fast"] = 2 }));

    [Fact]
    public void Trials_are_ranked_by_their_backtests_score_and_conflicting_knobs_are_skipped()
    {
        var result = Run(Setup([new("fast", 1, 2, 1), new("slow", 2, 3, 1)]));

        // fast 1, slow 2 is BacktesterTests' run: total return −0.015285. fast 2, slow 2 conflicts (fast must be below slow).
        var ranked = result.Trials;
        Assert.Equal(4, ranked.Count);
        var oneTwo = Assert.Single(ranked, t => t.Knobs["fast"] == 1 && t.Knobs["slow"] == 2);
        Assert.Equal(-0.015285m, oneTwo.Score);
        var skipped = ranked[^1];
        Assert.Equal((2m, 2m, "knobs.fast must be less than slow (2)"), (skipped.Knobs["fast"], skipped.Knobs["slow"], skipped.Skipped));
        // Each scored trial's score is its own backtest's, and they come best first.
        foreach (var trial in ranked.Where(t => t.Skipped is null))
        {
            var knobs = KnobValues.Parse(Optimizer.Merge("""{"order_quote": 100}""", trial.Knobs), StrategyRegistry.KnobsOf(Strategy));
            var alone = Backtester.Run(Setup([]).Backtest with { Knobs = knobs }, new Dictionary<string, Candle[]> { ["BTC/USDT"] = Series },
                cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(alone.Summary.TotalReturn, trial.Score);
        }
        var scores = ranked.Where(t => t.Skipped is null).Select(t => t.Score!.Value).ToList();
        Assert.Equal(scores.OrderDescending(), scores);
        Assert.StartsWith("rank,trial,fast,slow,score,in_sample,out_of_sample,total_return,max_drawdown,trade_count,skipped\r\n", Optimizer.Csv(Setup([new("fast", 1, 2, 1), new("slow", 2, 3, 1)]), result));
    }

    [Fact]
    public void A_walk_forward_tunes_on_each_window_and_scores_the_choice_on_the_next()
    {
        // 20 candles judged (2 … 21) in 2 folds: windows of 6, 7 and 7 candles ([2, 8), [8, 15), [15, 22)).
        var closes = new decimal[] { 10, 10, 10, 12, 11, 13, 9, 10, 12, 14, 13, 11, 10, 12, 15, 14, 12, 13, 16, 15, 12, 11, 13 };
        var candles = closes.Select((c, i) => new Candle(i * Minute, i == 0 ? c : closes[i - 1], Math.Max(c, i == 0 ? c : closes[i - 1]),
            Math.Min(c, i == 0 ? c : closes[i - 1]), c, 1m)).ToArray();
        var setup = Setup([new("fast", 1, 2, 1), new("slow", 3, 4, 1)], folds: 2, from: 2, to: 22);

        var result = Run(setup, candles);

        Assert.Equal([(1, 2 * Minute, 8 * Minute, 15 * Minute), (2, 8 * Minute, 15 * Minute, 22 * Minute)],
            result.Folds.Select(f => (f.Number, f.InSampleFrom, f.OutOfSampleFrom, f.OutOfSampleTo)));
        foreach (var fold in result.Folds)
        {
            // The chosen trial is the best on its in-sample window, and its out-of-sample score is its backtest on the next window.
            var chosen = result.Trials.Single(t => t.Number == fold.Trial);
            var knobs = KnobValues.Parse(Optimizer.Merge("""{"order_quote": 100}""", chosen.Knobs), StrategyRegistry.KnobsOf(Strategy));
            var next = Backtester.Run(setup.Backtest with { Knobs = knobs, From = fold.OutOfSampleFrom, To = fold.OutOfSampleTo },
                new Dictionary<string, Candle[]> { ["BTC/USDT"] = candles }, cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(Metrics.Score(next.Summary, Metrics.TotalReturn), fold.OutOfSample);
        }
        // Ranked by the mean in-sample score; each trial also says its out-of-sample mean.
        Assert.All(result.Trials, t => Assert.NotNull(t.OutOfSample));
        Assert.Equal(result.Trials.Select(t => t.InSample!.Value).OrderDescending(), result.Trials.Select(t => t.InSample!.Value));
    }

    [Fact]
    public void A_searchs_trials_are_cut_into_at_most_64_chunks_of_consecutive_trials_differing_by_one_at_most()
    {
        Assert.Equal([(0, 1), (1, 1), (2, 1)], Optimizer.Chunks(3));
        var chunks = Optimizer.Chunks(100);
        Assert.Equal(Optimizer.MaxChunks, chunks.Count);
        Assert.Equal(Enumerable.Range(0, 100), chunks.SelectMany(c => Enumerable.Range(c.First, c.Count)));
        Assert.Equal([1, 2], chunks.Select(c => c.Count).Distinct().Order());
        Assert.Equal((156, 157), (Optimizer.Chunks(10_000).Min(c => c.Count), Optimizer.Chunks(10_000).Max(c => c.Count)));
    }

    [Fact]
    public void Chunks_run_apart_in_any_order_and_sent_as_json_rank_exactly_as_the_whole_search()
    {
        // The walk-forward's series, with trials that conflict (skipped) among them: every field of the result counts.
        var closes = new decimal[] { 10, 10, 10, 12, 11, 13, 9, 10, 12, 14, 13, 11, 10, 12, 15, 14, 12, 13, 16, 15, 12, 11, 13 };
        var candles = new Dictionary<string, Candle[]>
        {
            ["BTC/USDT"] = [.. closes.Select((c, i) => new Candle(i * Minute, i == 0 ? c : closes[i - 1], Math.Max(c, i == 0 ? c : closes[i - 1]),
                Math.Min(c, i == 0 ? c : closes[i - 1]), c, 1.50m))],
        };
        var setup = Setup([new("fast", 1, 3, 1), new("slow", 2, 4, 1)], folds: 2, from: 2, to: 22);
        var candidates = Optimizer.Candidates(setup.Ranges, setup.Random, setup.Trials, setup.Seed);

        var whole = Optimizer.Run(setup, candles, cancellationToken: TestContext.Current.CancellationToken);
        var apart = Optimizer.Chunks(candidates.Count).Reverse()
            .SelectMany(c => Optimizer.FromJson(Optimizer.ToJson(Optimizer.RunTrials(setup, candidates, c.First, c.Count, candles, TestContext.Current.CancellationToken))))
            .ToList();
        var ranked = Optimizer.Rank(setup, apart);

        Assert.Equal(9, ranked.Trials.Count);
        Assert.Contains(ranked.Trials, t => t.Skipped is not null);
        Assert.Equal(Optimizer.Csv(setup, whole), Optimizer.Csv(setup, ranked));
        Assert.Equal(whole.Folds, ranked.Folds);
        // Decimals keep their scale through the JSON (a summary's figures as computed, not normalized).
        Assert.Equal(whole.Trials.Select(t => t.Summary?.ToString()), ranked.Trials.Select(t => t.Summary?.ToString()));
    }

    [Fact]
    public void A_search_plan_reads_back_as_written()
    {
        var plan = new SearchPlan(1_700_000_060_000, new Dictionary<string, TradingBots.Paper.ExchangeRules>
        {
            ["BTC/USDT"] = new(0.01000000m, 0.00001000m, 0.00001000m, 9000.00000000m, 5.00000000m, null),
        });

        var back = SearchPlan.FromJson(plan.ToJson());

        Assert.Equal(plan.Until, back.Until);
        Assert.Equal(plan.Rules!["BTC/USDT"].ToString(), back.Rules!["BTC/USDT"].ToString());
        Assert.Null(SearchPlan.FromJson(new SearchPlan(5, null).ToJson()).Rules);
    }

    [Fact]
    public void Max_drawdown_is_scored_lower_is_better()
    {
        var summary = new RunSummary(0.1m, 0.25m, null, null, null, null, 0m, 0m, 0, 0m);
        Assert.Equal((-0.25m, 0.1m, (decimal?)null), (Metrics.Score(summary, Metrics.MaxDrawdown), Metrics.Score(summary, Metrics.TotalReturn), Metrics.Score(summary, Metrics.Sharpe)));
    }
}
