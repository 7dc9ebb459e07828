using TradingBots.Strategies.Indicators;
using static TradingBots.Strategies.StrategyParts;

namespace TradingBots.Strategies.BuiltIn;

/// <summary>
/// <c>rsi</c> v1, mean reversion: buys <c>order_quote</c> when the RSI is at or below <c>oversold</c> while fewer than
/// <c>max_open_trades</c> are open, closes every open trade when it is at or above <c>overbought</c>. Wilder's RSI is
/// computed on the last 10 × period + 1 closes (<see cref="StrategyParts"/>), judged at each new close.
/// </summary>
public sealed class RsiReversion : IStrategy
{
    public const string Period = "period", Oversold = "oversold", Overbought = "overbought";

    public string Name => "rsi";
    public int Version => 1;
    public string Description => "RSI mean reversion: buy when the RSI is oversold, sell when it is overbought";

    public IReadOnlyList<KnobSpec> Knobs { get; } =
    [
        new(Period, KnobType.Integer, 14, 2, 100, "closes in the RSI"),
        new(Oversold, KnobType.Decimal, 30, 1, 50, "buy at or below this RSI"),
        new(Overbought, KnobType.Decimal, 70, 50, 99, "sell at or above this RSI (more than oversold)"),
        OrderQuoteKnob, MaxOpenTradesKnob, .. ExitKnobs,
    ];

    public int CandlesNeeded(KnobValues knobs) => 10 * knobs.Integer(Period) + 1;

    public IEnumerable<(string Knob, string Reason)> Conflicts(KnobValues knobs)
    {
        if (knobs.Decimal(Oversold) >= knobs.Decimal(Overbought)) yield return (Oversold, $"must be less than overbought ({Text(knobs.Decimal(Overbought))})");
    }

    public Stops StopsOf(OpenTrade trade, KnobValues knobs) => PercentStops(trade, knobs);

    public IReadOnlyList<StrategyOrder> Decide(StrategyInput input)
    {
        var knobs = input.Knobs;
        var needed = CandlesNeeded(knobs);
        if (input.ClosedCandles.Count < needed || input.NewCandles < 1) return [];
        var rsi = Rsi.Of(LastCloses(input.ClosedCandles, needed), knobs.Integer(Period))[^1]!.Value;
        var open = OpenOfSymbol(input);
        var said = $"RSI{knobs.Integer(Period)} {Text(rsi, 2)}";
        if (rsi >= knobs.Decimal(Overbought)) return CloseAll(open, $"{said} is overbought (≥ {Text(knobs.Decimal(Overbought))})");
        if (rsi <= knobs.Decimal(Oversold)) return BuyIfRoom(input, open.Count, $"{said} is oversold (≤ {Text(knobs.Decimal(Oversold))})");
        return [];
    }
}

/// <summary>
/// <c>grid</c> v1: buy levels below <c>centre</c>, <c>spacing_pct</c> apart (level k at centre × (1 − k × spacing / 100),
/// k = 1 … <c>levels</c>). A close that crosses down through a level buys <c>order_quote</c> there, unless a trade of that
/// level is open; each trade is sold when a close reaches the level above the one it was bought at (the centre above
/// level 1). A trade's level is the one nearest its entry price. Stops as every built-in.
/// </summary>
public sealed class Grid : IStrategy
{
    public const string Centre = "centre", SpacingPct = "spacing_pct", Levels = "levels";

    public string Name => "grid";
    public int Version => 1;
    public string Description => "grid: buy at levels below a centre price as the price falls through them, sell each one level higher";

    public IReadOnlyList<KnobSpec> Knobs { get; } =
    [
        new(Centre, KnobType.Decimal, null, 0.00000001m, 1_000_000_000m, "the grid's centre price", Required: true),
        new(SpacingPct, KnobType.Decimal, 1, 0.01m, 50, "percent of the centre between two levels"),
        new(Levels, KnobType.Integer, 5, 1, 100, "buy levels below the centre (their spacings must stay above zero)"),
        OrderQuoteKnob, .. ExitKnobs,
    ];

    public int CandlesNeeded(KnobValues knobs) => 2;

    public IEnumerable<(string Knob, string Reason)> Conflicts(KnobValues knobs)
    {
        if (knobs.Integer(Levels) * knobs.Decimal(SpacingPct) >= 100) yield return (Levels, $"levels × spacing_pct must stay below 100 (the lowest level above 0)");
    }

    public Stops StopsOf(OpenTrade trade, KnobValues knobs) => PercentStops(trade, knobs);

    /// <summary>Level <paramref name="k"/>'s price: the centre at k = 0.</summary>
    public static decimal Level(KnobValues knobs, int k) => knobs.Decimal(Centre) * (1 - k * knobs.Decimal(SpacingPct) / 100);

    public IReadOnlyList<StrategyOrder> Decide(StrategyInput input)
    {
        var knobs = input.Knobs;
        var candles = input.ClosedCandles;
        if (candles.Count < 2 || input.NewCandles < 1) return [];
        var (before, now) = (candles[^2].Close, candles[^1].Close);
        var levels = knobs.Integer(Levels);
        var orders = new List<StrategyOrder>();
        var held = new HashSet<int>();
        foreach (var trade in OpenOfSymbol(input))
        {
            var k = Enumerable.Range(1, levels).MinBy(k => Math.Abs(Level(knobs, k) - trade.EntryPrice));
            if (now >= Level(knobs, k - 1)) orders.Add(StrategyOrder.Close(trade, $"grid: {Text(now)} reached level {k - 1} ({Text(Level(knobs, k - 1))})"));
            else held.Add(k);
        }
        for (var k = 1; k <= levels; k++)
        {
            var level = Level(knobs, k);
            if (before > level && now <= level && !held.Contains(k))
                orders.Add(StrategyOrder.Buy(input.Symbol, knobs.Decimal(OrderQuote), $"grid: {Text(now)} fell through level {k} ({Text(level)})"));
        }
        return orders;
    }
}
