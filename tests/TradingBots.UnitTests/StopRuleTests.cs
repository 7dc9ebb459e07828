using TradingBots.Backtests;
using TradingBots.Strategies;

namespace TradingBots.UnitTests;

/// <summary>Stops judged on each live price and on each candle as it traded, with figures derived by hand.</summary>
public sealed class StopRuleTests
{
    private static readonly Stops Both = new(StopLoss: 95m, TakeProfit: 110m);

    private static Candle Candle(decimal open, decimal high, decimal low, decimal close) => new(0, open, high, low, close, 1m);

    [Theory]
    [InlineData(95.00, "stop loss: 95 is at or below the stop 95")]
    [InlineData(94.50, "stop loss: 94.5 is at or below the stop 95")]
    [InlineData(95.01, null)]
    [InlineData(109.99, null)]
    [InlineData(110.00, "take profit: 110 is at or above the target 110")]
    public void Live_a_price_at_or_beyond_a_stop_closes_at_that_price(decimal price, string? reason) =>
        Assert.Equal(reason is null ? null : new StopExit(price, reason), StopRule.OnPrice(Both, price));

    [Fact]
    public void In_a_candle_a_stop_its_range_reaches_fills_at_the_stop()
    {
        Assert.Equal(new StopExit(95m, "stop loss: the low 94 reached the stop 95"), StopRule.InCandle(Both, Candle(100, 101, 94, 99)));
        Assert.Equal(new StopExit(110m, "take profit: the high 111 reached the target 110"), StopRule.InCandle(Both, Candle(100, 111, 99, 105)));
        Assert.Null(StopRule.InCandle(Both, Candle(100, 109.99m, 95.01m, 100)));
    }

    [Fact]
    public void A_candle_that_opens_through_a_stop_fills_at_its_open()
    {
        Assert.Equal(new StopExit(93m, "stop loss: opened at 93, through the stop 95"), StopRule.InCandle(Both, Candle(93, 96, 90, 94)));
        Assert.Equal(new StopExit(112m, "take profit: opened at 112, through the target 110"), StopRule.InCandle(Both, Candle(112, 115, 108, 109)));
    }

    [Fact]
    public void A_candle_reaching_both_stops_takes_the_stop_loss()
    {
        // Which came first inside the candle is unknown: the worse is assumed.
        Assert.Equal(95m, StopRule.InCandle(Both, Candle(100, 111, 94, 105))!.Value.Price);
    }

    [Fact]
    public void A_backtest_stops_a_trade_inside_the_candle_whose_low_reaches_it()
    {
        // baseline fast 1, slow 2 with a 10% stop loss: candle 3 rises, bought at candle 4's open 10 (10 for 100, fee 0.1;
        // stop 9). Candle 5 trades from 12.5 down to 8: its low reaches 9, sold there inside candle 5 (stamped with its
        // open): 10 × 9 = 90, fee 0.09, PnL 90 − 100 − 0.19 = −10.19. Its close is a downward cross with nothing left to sell;
        // candle 6 rises: bought at candle 7's open, 11.
        const long minute = 60_000;
        var strategy = new Baseline();
        var candles = new (decimal Open, decimal Close)[] { (10, 10), (10, 10), (10, 10), (10, 12.5m), (10, 12.5m), (12.5m, 8), (8.5m, 10), (11, 11) }
            .Select((c, i) => new Candle(i * minute, c.Open, Math.Max(c.Open, c.Close), Math.Min(c.Open, c.Close), c.Close, 1m)).ToArray();
        var setup = new BacktestSetup(strategy, KnobValues.Parse("""{"fast": 1, "slow": 2, "order_quote": 100, "stop_loss_pct": 10}""", StrategyRegistry.KnobsOf(strategy)),
            ["BTC/USDT"], "1m", 2 * minute, 7 * minute, 1000m, 0.001m);

        var result = Backtester.Run(setup, new Dictionary<string, Candle[]> { ["BTC/USDT"] = candles }, cancellationToken: TestContext.Current.CancellationToken);

        var stopped = result.Trades[0];
        Assert.Equal((4 * minute, 10m, 5 * minute, 9m, 90m, 0.19m, -10.19m, "stop loss: the low 8 reached the stop 9"),
            (stopped.OpenedAt, stopped.EntryPrice, stopped.ClosedAt, stopped.ExitPrice, stopped.ProceedsQuote, stopped.FeesPaidQuote, stopped.RealizedPnlQuote, stopped.CloseReason));
        Assert.Equal((7 * minute, 11m, true), (result.Trades[1].OpenedAt, result.Trades[1].EntryPrice, result.Trades[1].IsOpen));
        Assert.Equal(2, result.Trades.Count);
    }
}
