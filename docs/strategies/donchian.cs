// A user strategy: copy this file into the strategies folder (strategies/ in the repository) and it is listed by
// GET /strategies as "donchian", ready for backtests and bots. The usings of a .NET project and the strategy contract's
// namespaces (TradingBots.Strategies, TradingBots.Strategies.Indicators) are already there.
namespace MyStrategies;

/// <summary>
/// Donchian breakout: buy when a close breaks above the highest high of the `entry` candles before it; close every open
/// trade when a close falls below the lowest low of the `exit` candles before it.
/// </summary>
public sealed class Donchian : IStrategyLogic
{
    public string Description => "Donchian breakout: buy above the highest high of the last `entry` candles, sell below the lowest low of the last `exit`";

    public IReadOnlyList<KnobSpec> Knobs { get; } =
    [
        new("entry", KnobType.Integer, 20, 2, 500, "candles whose highest high a close must break to buy"),
        new("exit", KnobType.Integer, 10, 2, 500, "candles whose lowest low a close must break to sell"),
        StrategyParts.OrderQuoteKnob,
        StrategyParts.MaxOpenTradesKnob,
        .. StrategyParts.ExitKnobs,
    ];

    public int CandlesNeeded(KnobValues knobs) => Math.Max(knobs.Integer("entry"), knobs.Integer("exit")) + 1;

    public Stops StopsOf(OpenTrade trade, KnobValues knobs) => StrategyParts.PercentStops(trade, knobs);

    public IReadOnlyList<StrategyOrder> Decide(StrategyInput input)
    {
        var candles = input.ClosedCandles;
        if (candles.Count < CandlesNeeded(input.Knobs)) return []; // the first candles of a backtest: not enough history yet
        var close = candles[^1].Close;
        var open = StrategyParts.OpenOfSymbol(input);
        var before = candles.Take(candles.Count - 1);

        var lowest = before.TakeLast(input.Knobs.Integer("exit")).Min(c => c.Low);
        if (open.Count > 0 && close < lowest)
            return StrategyParts.CloseAll(open, $"close {StrategyParts.Text(close)} below the lowest low {StrategyParts.Text(lowest)}");

        var highest = before.TakeLast(input.Knobs.Integer("entry")).Max(c => c.High);
        return close > highest
            ? StrategyParts.BuyIfRoom(input, open.Count, $"close {StrategyParts.Text(close)} above the highest high {StrategyParts.Text(highest)}")
            : [];
    }
}
