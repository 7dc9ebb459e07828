using static TradingBots.Strategies.StrategyParts;

namespace TradingBots.Strategies.BuiltIn;

/// <summary>
/// <c>dca</c> v1, dollar-cost averaging: buys <c>order_quote</c> on every <c>every</c>-th candle (those whose open time is a
/// whole multiple of every × the timeframe, so a bot and a backtest buy on the same candles), while fewer than
/// <c>max_open_trades</c> are open; with <c>take_profit_pct</c>, closes every open trade when a close reaches that percent
/// above their average entry (their cost ÷ their quantity), and buys nothing on that candle.
/// </summary>
public sealed class Dca : IStrategy
{
    public const string Every = "every";

    public string Name => "dca";
    public int Version => 1;
    public string Description => "dollar-cost averaging: buy a fixed quote amount every N candles, optionally taking profit on the whole position";

    public IReadOnlyList<KnobSpec> Knobs { get; } =
    [
        new(Every, KnobType.Integer, 24, 1, 100_000, "buy on every this-many-th candle"),
        OrderQuoteKnob,
        new(MaxOpenTrades, KnobType.Integer, 100, 1, 1000, "open trades at most (per symbol)"),
        new(TakeProfitPct, KnobType.Decimal, null, 0.01m, 10_000m, "close every open trade when a close is this many percent above their average entry (absent: off)"),
    ];

    public int CandlesNeeded(KnobValues knobs) => 2;

    public IEnumerable<(string Knob, string Reason)> Conflicts(KnobValues knobs) => [];

    public IReadOnlyList<StrategyOrder> Decide(StrategyInput input)
    {
        var knobs = input.Knobs;
        var candles = input.ClosedCandles;
        if (candles.Count < 2 || input.NewCandles < 1) return [];
        var open = OpenOfSymbol(input);
        var close = candles[^1].Close;
        if (knobs.Get(TakeProfitPct) is { } tp && open.Count > 0 && open.Sum(t => t.CostBasisQuote) / open.Sum(t => t.Qty) is var average
            && close >= average * (1 + tp / 100))
            return CloseAll(open, $"take profit: {Text(close)} is {Text(tp)}% or more above the average entry {Text(average)}");
        // The candles judged now (more than one after a late tick): a buy when one of them is a buying candle.
        var step = candles[^1].OpenTime - candles[^2].OpenTime;
        var every = knobs.Integer(Every);
        for (var i = Math.Max(1, candles.Count - input.NewCandles); i < candles.Count; i++)
            if (candles[i].OpenTime / step % every == 0) return BuyIfRoom(input, open.Count, $"every {every} candles");
        return [];
    }
}
