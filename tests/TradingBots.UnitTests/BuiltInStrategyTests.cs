using TradingBots.Backtests;
using TradingBots.Strategies;
using TradingBots.Strategies.BuiltIn;

namespace TradingBots.UnitTests;

/// <summary>
/// Each built-in strategy backtested on fixed 1m candles with exact trades, derived by hand from its rule and the paper
/// rules (fee 0.1 %, quantity = quote / price to 12 places). The candles are gapless (each opens at the close before), so
/// an order decided on candle i fills at candle i + 1's open, the close of i.
/// </summary>
public sealed class BuiltInStrategyTests
{
    private const long Minute = 60_000;

    private static Candle[] Gapless(params decimal[] closes) =>
        [.. closes.Select((c, i) => new Candle(i * Minute, i == 0 ? c : closes[i - 1], Math.Max(c, i == 0 ? c : closes[i - 1]),
            Math.Min(c, i == 0 ? c : closes[i - 1]), c, 1m))];

    /// <summary>The backtest of <paramref name="strategy"/> judging candles [from, to) of <paramref name="candles"/>, from 1,000.</summary>
    private static BacktestResult Backtest(IStrategy strategy, string knobs, Candle[] candles, int from, int to)
    {
        var setup = new BacktestSetup(strategy, KnobValues.Parse(knobs, StrategyRegistry.KnobsOf(strategy)), ["BTC/USDT"], "1m", from * Minute, to * Minute,
            1000m, 0.001m);
        Assert.Empty(StrategyRegistry.Validate(strategy, System.Text.Json.JsonDocument.Parse(knobs).RootElement));
        return Backtester.Run(setup, new Dictionary<string, Candle[]> { ["BTC/USDT"] = candles }, cancellationToken: TestContext.Current.CancellationToken);
    }

    private static (long, decimal, decimal, long?, decimal?, decimal?, decimal?) Figures(BacktestTrade t) =>
        (t.OpenedAt / Minute, t.EntryPrice, t.Qty, t.ClosedAt / Minute, t.ExitPrice, t.ProceedsQuote, t.RealizedPnlQuote);

    [Fact]
    public void Rsi_buys_oversold_and_sells_overbought()
    {
        // Period 2 (21 closes: flat 10 before). Candle 20 closes at 9: gain 0, loss (0 + 1) / 2 → RSI 0, oversold: bought at
        // candle 21's open, 9: 100 / 9 = 11.111111111111. Candle 21 closes at 8, RSI 0, but one trade is the most. Candle 22
        // closes at 12: gain (0 + 4) / 2 = 2, loss (0.75 + 0) / 2 = 0.375, RSI 100 × 2 / 2.375 = 84.21, overbought: sold at
        // candle 23's open, 12: 133.333333333332, fees 0.1 + 0.133333333333, PnL 33.099999999999.
        var candles = Gapless([.. Enumerable.Repeat(10m, 20), 9, 8, 12, 12]);

        var result = Backtest(new RsiReversion(), """{"period": 2}""", candles, from: 20, to: 23);

        var trade = Assert.Single(result.Trades);
        Assert.Equal((21L, 9m, 11.111111111111m, 23L, 12m, 133.333333333332m, 33.099999999999m), Figures(trade));
        Assert.Equal(("RSI2 0 is oversold (≤ 30)", "RSI2 84.21 is overbought (≥ 70)"), (trade.OpenReason, trade.CloseReason));
    }

    [Fact]
    public void Macd_buys_when_its_line_crosses_above_the_signal_and_sells_below()
    {
        // fast 2, slow 3, signal 2 on 14 closes. Flat at 10: histogram 0. Candle 14 closes at 11: histogram 0.0556 > 0, a cross
        // above: bought at 11 (candle 15's open): 9.090909090909. Candle 16 closes flat at 12 after 12: the fast EMA falls
        // back under the signal, histogram −0.0046: sold at 12 (candle 17's open): 109.090909090908, fee 0.109090909091,
        // PnL 8.881818181817. Candle 20 (9 after 9, 9) turns it positive again: bought at candle 21's open, 9, still open.
        var candles = Gapless([.. Enumerable.Repeat(10m, 14), 11, 12, 12, 11, 10, 9, 9, 9]);

        var result = Backtest(new MacdTrend(), """{"fast": 2, "slow": 3, "signal": 2}""", candles, from: 13, to: 21);

        Assert.Equal(2, result.Trades.Count);
        Assert.Equal((15L, 11m, 9.090909090909m, 17L, 12m, 109.090909090908m, 8.881818181817m), Figures(result.Trades[0]));
        Assert.Equal((21L, 9m, true), (result.Trades[1].OpenedAt / Minute, result.Trades[1].EntryPrice, result.Trades[1].IsOpen));
    }

    [Fact]
    public void Bollinger_buys_a_break_above_the_upper_band_and_sells_below_the_middle()
    {
        // Period 3, width 1. Candle 4 closes at 13 over 10, 10: mean 11, deviation √2, upper 12.414 (and 10 was at its band
        // before): bought at 13 (candle 5's open): 7.692307692308. Candle 5, 13.5: above the middle 12.17, under the upper
        // 13.71. Candle 6, 9: below the middle 11.83: sold at 9 (candle 7's open): 69.230769230772, PnL −30.938461538459.
        var candles = Gapless(10, 10, 10, 10, 13, 13.5m, 9, 9);

        var result = Backtest(new BollingerBreakout(), """{"period": 3, "width": 1}""", candles, from: 3, to: 7);

        var trade = Assert.Single(result.Trades);
        Assert.Equal((5L, 13m, 7.692307692308m, 7L, 9m, 69.230769230772m, -30.938461538459m), Figures(trade));
        Assert.StartsWith("close 13 broke above the upper band 12.41421356", trade.OpenReason);
    }

    [Fact]
    public void Dca_buys_on_every_nth_candle_and_takes_profit_on_the_whole_position()
    {
        // every 2: candles 2 and 4 are buying candles (open time ÷ 1m even). Candle 2 (10): bought at candle 3's open, 10: 10.
        // Candle 3 closes at 10.5, under 11. Candle 4 closes at 12, 10% or more above the average entry 10: everything sold at candle 5's open, 12, and nothing
        // bought on that candle: 120, fees 0.1 + 0.12, PnL 19.78.
        var candles = Gapless(10, 10, 10, 10.5m, 12, 13.2m, 13);

        var result = Backtest(new Dca(), """{"every": 2, "take_profit_pct": 10}""", candles, from: 1, to: 6);

        var trade = Assert.Single(result.Trades);
        Assert.Equal((3L, 10m, 10m, 5L, 12m, 120m, 19.78m), Figures(trade));
        Assert.Equal(("every 2 candles", "take profit: 12 is 10% or more above the average entry 10"), (trade.OpenReason, trade.CloseReason));
    }

    [Fact]
    public void Grid_buys_each_level_it_falls_through_and_sells_it_one_level_up()
    {
        // Centre 100, 10% apart, 2 levels: 90 and 80. 89 falls through 90: bought at 89 (1.123595505618). 79 falls through 80:
        // bought at 79 (1.265822784810). 91 is the level above 80 and more: the 79 trade sold at 91 (115.18987341771, PnL
        // 14.974683544292). 101 is the centre above 90: the 89 trade sold at 101 (113.483146067418, PnL 13.269662921351).
        var candles = Gapless(100, 95, 89, 85, 79, 91, 101, 101);

        var result = Backtest(new Grid(), """{"centre": 100, "spacing_pct": 10, "levels": 2}""", candles, from: 1, to: 7);

        Assert.Equal(2, result.Trades.Count);
        Assert.Equal((3L, 89m, 1.123595505618m, 7L, 101m, 113.483146067418m, 13.269662921351m), Figures(result.Trades[0]));
        Assert.Equal((5L, 79m, 1.265822784810m, 6L, 91m, 115.18987341771m, 14.974683544292m), Figures(result.Trades[1]));
        Assert.Equal("grid: 89 fell through level 1 (90)", result.Trades[0].OpenReason);
    }

    [Fact]
    public void Every_strategy_is_listed_and_validates_its_knobs()
    {
        Assert.Equal(["baseline@1", "llm@1", "rsi@1", "macd@1", "bollinger@1", "dca@1", "grid@1"], StrategyRegistry.All.Select(StrategyRegistry.Key));
        using var bad = System.Text.Json.JsonDocument.Parse("""{"oversold": 50, "overbought": 50}""");
        Assert.Equal(["must be less than overbought (50)"], StrategyRegistry.Validate(new RsiReversion(), bad.RootElement)["knobs.oversold"]);
        using var grid = System.Text.Json.JsonDocument.Parse("{}");
        Assert.Equal(["is required"], StrategyRegistry.Validate(new Grid(), grid.RootElement)["knobs.centre"]);
    }
}
