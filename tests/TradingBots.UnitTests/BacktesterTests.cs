using TradingBots.Backtests;
using TradingBots.Strategies;

namespace TradingBots.UnitTests;

/// <summary>
/// Backtests of baseline (fast 1, slow 2: it buys when a close rises after one that did not, sells when one falls after
/// one that did not) on 1m candles, with figures derived by hand from the paper rules (fee rate 0.001).
/// </summary>
public sealed class BacktesterTests
{
    private const long Minute = 60_000;
    private static readonly Baseline Strategy = new();

    /// <summary>Candles from (open, close) pairs, a minute apart; high and low are the larger and the smaller of the two.</summary>
    private static Candle[] Candles(params (decimal Open, decimal Close)[] candles) =>
        [.. candles.Select((c, i) => new Candle(i * Minute, c.Open, Math.Max(c.Open, c.Close), Math.Min(c.Open, c.Close), c.Close, 1m))];

    private static BacktestSetup Setup(int from, int to, decimal cash = 1000m, string knobs = """{"fast": 1, "slow": 2, "order_quote": 100}""") =>
        new(Strategy, KnobValues.Parse(knobs, StrategyRegistry.KnobsOf(Strategy)), ["BTC/USDT"], "1m", from * Minute, to * Minute, cash, 0.001m);

    private static BacktestResult Run(BacktestSetup setup, Candle[] candles, Action<int>? progress = null, CancellationTokenSource? cancel = null) =>
        Backtester.Run(setup, new Dictionary<string, Candle[]> { ["BTC/USDT"] = candles }, progress, cancel?.Token ?? TestContext.Current.CancellationToken);

    // Candles 0 and 1 are the warm-up; the range is candles 2 to 6; candle 7, after the range, fills what 6 decided. Each
    // opens somewhere else than the last one closed, so a fill at a close would show.
    private static readonly Candle[] Series = Candles((10, 10), (10, 10), (10, 10), (10, 12.5m), (10, 12.5m), (12.5m, 8), (8.5m, 10), (11, 11));

    [Fact]
    public void Each_candle_is_judged_at_its_close_and_what_it_decides_fills_at_the_next_open()
    {
        var result = Run(Setup(2, 7), Series);

        // Candle 3 rises: bought at candle 4's open, 100 / 10 = 10, fee 0.1. Candle 5 falls: sold at candle 6's open,
        // 10 × 8.5 = 85, fee 0.085, PnL 85 − 100 − 0.185. Candle 6 rises: bought at candle 7's open (after the range),
        // 100 / 11 = 9.090909090909 (12 places), fee 0.1, still open at the end.
        Assert.Equal(5, result.Candles);
        var (first, second) = (result.Trades[0], result.Trades[1]);
        Assert.Equal((4 * Minute, 10m, 10m, 100m, 6 * Minute, 8.5m, 85m, 0.185m, -15.185m),
            (first.OpenedAt, first.EntryPrice, first.Qty, first.CostBasisQuote, first.ClosedAt, first.ExitPrice, first.ProceedsQuote, first.FeesPaidQuote, first.RealizedPnlQuote));
        Assert.Equal(("SMA1 crossed above SMA2", "SMA1 crossed below SMA2"), (first.OpenReason, first.CloseReason));
        Assert.Equal((7 * Minute, 11m, 9.090909090909m, 0.1m, true), (second.OpenedAt, second.EntryPrice, second.Qty, second.FeesPaidQuote, second.IsOpen));
        Assert.Equal(2, result.Trades.Count);
        Assert.Empty(result.Refusals);
    }

    [Fact]
    public void Equity_is_marked_at_every_close_from_the_starting_cash()
    {
        var result = Run(Setup(2, 7), Series);

        // Cash 1000 → 899.9 (the buy at candle 4's open) → 984.815 (+ 85 − 0.085 at candle 6's open) → 884.715 (the buy at
        // candle 7's open); positions at the closes: 10 × 12.5, 10 × 8, none, and at the end 9.090909090909 × 11 = 99.999999999999.
        // The start, then each candle's close (its open time + 1m); the last one after the fills at the next open.
        Assert.Equal([new(2 * Minute, 1000m, 1000m), new(3 * Minute, 1000m, 1000m), new(4 * Minute, 1000m, 1000m), new(5 * Minute, 1024.9m, 899.9m),
            new(6 * Minute, 979.9m, 899.9m), new EquityPoint(7 * Minute, 984.714999999999m, 884.715m)], result.Equity);
    }

    [Fact]
    public void The_summary_is_the_run_metrics_of_that_equity_and_those_trades()
    {
        var summary = Run(Setup(2, 7), Series).Summary;

        // 984.714999999999 / 1000 − 1 = −0.015285000000001 (12 places: −0.015285); the peak 1024.9 fell to 979.9: 45 / 1024.9;
        // in a position after 3 of 5 candles (the last: the buy at the next open); fees 0.1 + 0.085 + 0.1; one closed trade, a
        // loss: win rate 0, profit factor 0 / 15.185; buy and hold from the close of candle 2 (10) to 6 (10).
        Assert.Equal((-0.015285m, 0.043906722607m, 0.6m, 0.285m, 1, 0m, 0m, 0m),
            (summary.TotalReturn, summary.MaxDrawdown, summary.Exposure, summary.FeesPaid, summary.TradeCount, summary.WinRate, summary.ProfitFactor, summary.BuyAndHoldReturn));
    }

    [Fact]
    public void Without_a_warm_up_the_first_decisions_wait_for_enough_candles()
    {
        // From candle 3 with nothing before it: candles 3 and 4 are fewer than the 3 needed, 5 is the first judged (a fall,
        // nothing open), 6 rises: the one buy is at candle 7's open, 11.
        var result = Run(Setup(3, 7), Series[3..]);

        Assert.Equal((11m, 7 * Minute), (Assert.Single(result.Trades).EntryPrice, result.Trades[0].OpenedAt));
    }

    [Fact]
    public void Without_the_candle_after_the_range_the_last_decisions_are_said_unfilled()
    {
        var result = Run(Setup(2, 7), Series[..7]);

        Assert.Equal(["1970-01-01 00:07:00Z BTC/USDT: buy of BTC/USDT not filled: the candle after the range has not closed yet"], result.Refusals);
        Assert.Equal(new EquityPoint(7 * Minute, 984.815m, 984.815m), result.Equity[^1]);
    }

    [Fact]
    public void A_buy_the_cash_does_not_cover_is_refused_and_said()
    {
        // 100 + 0.1 fee > 100 of cash: refused, nothing moves.
        var result = Run(Setup(2, 7, cash: 100m), Series);

        Assert.Empty(result.Trades);
        Assert.Equal(["1970-01-01 00:04:00Z BTC/USDT: buy of 100 BTC/USDT refused: it costs 100.1, the account has 100",
            "1970-01-01 00:07:00Z BTC/USDT: buy of 100 BTC/USDT refused: it costs 100.1, the account has 100"], result.Refusals);
        Assert.All(result.Equity, e => Assert.Equal(100m, e.Equity));
    }

    [Fact]
    public void Progress_is_told_in_whole_percents_and_cancelling_stops_the_run()
    {
        var seen = new List<int>();
        Run(Setup(2, 7), Series, seen.Add);
        Assert.Equal([20, 40, 60, 80, 100], seen);

        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => Run(Setup(2, 7), Series, p => { if (p >= 40) cancel.Cancel(); }, cancel));
    }

    [Fact]
    public async Task Equity_rows_keep_their_own_date_across_midnight_and_a_value_repeated_is_written_as_it_was()
    {
        var setup = Setup(2, 7);
        var summary = Run(setup, Series).Summary;
        const long Day = 24 * 60 * Minute;
        // Before 1970 (negative Unix ms), both sides of midnight, a flat stretch at another scale (3.0 after 3: same value,
        // same text), a new peak. Drawdowns: (5 − 3) / 5 = 0.4; (6 − 4.5) / 6 = 0.25.
        EquityPoint[] points = [new(-Day - Minute, 5m, 5m), new(Day - Minute, 5m, 5.00m), new(Day, 3m, 5m), new(Day + Minute, 3.0m, 5m),
            new(2 * Day + 59 * Minute + 59_000, 6m, 0.10m), new(2 * Day + 60 * Minute, 4.5m, 0.1m)];
        var result = new BacktestResult([], points, summary, points.Length, []);
        var directory = Path.Combine(Path.GetTempPath(), $"backtest-test-{Guid.NewGuid():N}");
        try
        {
            await BacktestArtifacts.WriteAsync(directory, BacktestSummary.From(setup, result, 0), result, TestContext.Current.CancellationToken);
            Assert.Equal("""
                time,equity,cash,drawdown
                1969-12-30T23:59:00Z,5,5,0
                1970-01-01T23:59:00Z,5,5,0
                1970-01-02T00:00:00Z,3,5,0.4
                1970-01-02T00:01:00Z,3,5,0.4
                1970-01-03T00:59:59Z,6,0.1,0
                1970-01-03T01:00:00Z,4.5,0.1,0.25

                """.Replace("\n", "\r\n"), await File.ReadAllTextAsync(Path.Combine(directory, BacktestArtifacts.Equity), TestContext.Current.CancellationToken));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task The_artifacts_write_every_point_and_trade_exactly()
    {
        var setup = Setup(2, 7);
        var result = Run(setup, Series);
        var directory = Path.Combine(Path.GetTempPath(), $"backtest-test-{Guid.NewGuid():N}");
        try
        {
            await BacktestArtifacts.WriteAsync(directory, BacktestSummary.From(setup, result, 7), result, TestContext.Current.CancellationToken);

            // Drawdown from the peak 1024.9: 45 / 1024.9, then 40.185000000001 / 1024.9 (12 places).
            Assert.Equal("""
                time,equity,cash,drawdown
                1970-01-01T00:02:00Z,1000,1000,0
                1970-01-01T00:03:00Z,1000,1000,0
                1970-01-01T00:04:00Z,1000,1000,0
                1970-01-01T00:05:00Z,1024.9,899.9,0
                1970-01-01T00:06:00Z,979.9,899.9,0.043906722607
                1970-01-01T00:07:00Z,984.714999999999,884.715,0.039208703288

                """.Replace("\n", "\r\n"), await File.ReadAllTextAsync(Path.Combine(directory, BacktestArtifacts.Equity), TestContext.Current.CancellationToken));
            Assert.Equal("""
                id,symbol,opened_at,entry_price,qty,cost_basis_quote,fees_paid_quote,open_reason,closed_at,exit_price,proceeds_quote,realized_pnl_quote,close_reason
                1,BTC/USDT,1970-01-01T00:04:00Z,10,10,100,0.185,SMA1 crossed above SMA2,1970-01-01T00:06:00Z,8.5,85,-15.185,SMA1 crossed below SMA2
                2,BTC/USDT,1970-01-01T00:07:00Z,11,9.090909090909,100,0.1,SMA1 crossed above SMA2,,,,,

                """.Replace("\n", "\r\n"), await File.ReadAllTextAsync(Path.Combine(directory, BacktestArtifacts.Trades), TestContext.Current.CancellationToken));
            using var summary = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(directory, BacktestArtifacts.Summary), TestContext.Current.CancellationToken));
            Assert.Equal((984.714999999999m, 7, 1, 5), (summary.RootElement.GetProperty("final_equity").GetDecimal(), summary.RootElement.GetProperty("candles_fetched").GetInt32(),
                summary.RootElement.GetProperty("open_trades").GetInt32(), summary.RootElement.GetProperty("candles").GetInt32()));
            foreach (var chart in new[] { BacktestArtifacts.EquityChart, BacktestArtifacts.DrawdownChart })
                Assert.Equal([0x89, 0x50, 0x4E, 0x47], (await File.ReadAllBytesAsync(Path.Combine(directory, chart), TestContext.Current.CancellationToken))[..4]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Asked about BTC/USDT with nothing open: buys it and ETH/USDT; asked about ETH/USDT: closes every open trade, naming ETH/USDT.</summary>
    private sealed class Reaching : IStrategy
    {
        public string Name => "reaching";
        public int Version => 1;
        public string Description => "reaches past the symbol it is asked about";
        public IReadOnlyList<KnobSpec> Knobs => [];
        public int CandlesNeeded(KnobValues knobs) => 1;
        public IReadOnlyList<StrategyOrder> Decide(StrategyInput input) => input.Symbol == "BTC/USDT"
            ? input.OpenTrades.Count == 0 ? [StrategyOrder.Buy("BTC/USDT", 100m, "mine"), StrategyOrder.Buy("ETH/USDT", 100m, "elsewhere")] : []
            : [.. input.OpenTrades.Select(t => new StrategyOrder("ETH/USDT", "sell", null, t.TradeId, "reach"))];
    }

    [Fact]
    public void As_live_an_order_of_another_symbol_and_a_close_of_another_symbols_trade_are_refused()
    {
        var strategy = new Reaching();
        var setup = new BacktestSetup(strategy, KnobValues.Parse("{}", StrategyRegistry.KnobsOf(strategy)), ["BTC/USDT", "ETH/USDT"], "1m", 0, 3 * Minute, 1000m, 0.001m);
        var result = Backtester.Run(setup, new Dictionary<string, Candle[]>
        {
            ["BTC/USDT"] = Candles((10, 10), (10, 10), (10, 10)),
            ["ETH/USDT"] = Candles((2000, 2000), (2000, 2000), (2000, 2000)),
        }, null, TestContext.Current.CancellationToken);

        // The BTC/USDT buy filled at the next open; the ETH/USDT buy and each close of the BTC/USDT trade named as ETH/USDT's
        // are refused when decided (they would have filled at ETH/USDT's price); the trade is still open.
        var trade = Assert.Single(result.Trades);
        Assert.Equal(("BTC/USDT", 10m, true), (trade.Symbol, trade.EntryPrice, trade.IsOpen));
        Assert.Equal([
            "1970-01-01 00:00:00Z BTC/USDT: buy ETH/USDT refused: the strategy was asked about BTC/USDT",
            $"1970-01-01 00:01:00Z ETH/USDT: sell ETH/USDT refused: trade {trade.Id} is not an open ETH/USDT trade of this account",
            $"1970-01-01 00:02:00Z ETH/USDT: sell ETH/USDT refused: trade {trade.Id} is not an open ETH/USDT trade of this account",
        ], result.Refusals);
    }
}
