using TradingBots.Strategies.Indicators;
using static TradingBots.Strategies.StrategyParts;

namespace TradingBots.Strategies.BuiltIn;

/// <summary>
/// <c>macd</c> v1, trend following: buys <c>order_quote</c> when the MACD line crosses above its signal line (the
/// histogram turns positive) while fewer than <c>max_open_trades</c> are open, closes every open trade when it crosses
/// below. MACD is computed on the last 4 × slow + signal closes (<see cref="StrategyParts"/>); a cross is a change of the
/// histogram's sign between the candle judged before and the newest (zero counts as the side it came from).
/// </summary>
public sealed class MacdTrend : IStrategy
{
    public const string Fast = "fast", Slow = "slow", Signal = "signal";

    public string Name => "macd";
    public int Version => 1;
    public string Description => "MACD trend following: buy when the MACD line crosses above its signal line, sell when it crosses below";

    public IReadOnlyList<KnobSpec> Knobs { get; } =
    [
        new(Fast, KnobType.Integer, 12, 1, 200, "candles in the fast EMA"),
        new(Slow, KnobType.Integer, 26, 2, 400, "candles in the slow EMA (more than fast)"),
        new(Signal, KnobType.Integer, 9, 1, 200, "candles in the signal line's EMA"),
        OrderQuoteKnob, MaxOpenTradesKnob, .. ExitKnobs,
    ];

    public int CandlesNeeded(KnobValues knobs) => 4 * knobs.Integer(Slow) + knobs.Integer(Signal);

    public IEnumerable<(string Knob, string Reason)> Conflicts(KnobValues knobs)
    {
        if (knobs.Integer(Fast) >= knobs.Integer(Slow)) yield return (Fast, $"must be less than slow ({knobs.Integer(Slow)})");
    }

    public Stops StopsOf(OpenTrade trade, KnobValues knobs) => PercentStops(trade, knobs);

    public IReadOnlyList<StrategyOrder> Decide(StrategyInput input)
    {
        var knobs = input.Knobs;
        var needed = CandlesNeeded(knobs);
        if (input.ClosedCandles.Count < needed || input.NewCandles < 1) return [];
        var macd = Macd.Of(LastCloses(input.ClosedCandles, needed), knobs.Integer(Fast), knobs.Integer(Slow), knobs.Integer(Signal));
        var back = Math.Min(input.NewCandles, macd.Count(m => m is not null) - 1);
        if (back < 1) return [];
        var (before, now) = (Math.Sign(macd[^(1 + back)]!.Value.Histogram), macd[^1]!.Value);
        var open = OpenOfSymbol(input);
        var said = $"MACD {Text(now.Macd)} vs signal {Text(now.Signal)}";
        if (before >= 0 && now.Histogram < 0) return CloseAll(open, $"{said}: crossed below");
        if (before <= 0 && now.Histogram > 0) return BuyIfRoom(input, open.Count, $"{said}: crossed above");
        return [];
    }
}

/// <summary>
/// <c>bollinger</c> v1, breakout: buys <c>order_quote</c> when a close breaks above the upper Bollinger band (the close
/// before was at or below its band) while fewer than <c>max_open_trades</c> are open, closes every open trade when a close
/// falls below the middle band. The bands are exact sums of the last <c>period</c> closes (<see cref="Bollinger"/>).
/// </summary>
public sealed class BollingerBreakout : IStrategy
{
    public const string Period = "period", Width = "width";

    public string Name => "bollinger";
    public int Version => 1;
    public string Description => "Bollinger breakout: buy when a close breaks above the upper band, sell when one falls below the middle band";

    public IReadOnlyList<KnobSpec> Knobs { get; } =
    [
        new(Period, KnobType.Integer, 20, 2, 500, "closes in the bands' average and deviation"),
        new(Width, KnobType.Decimal, 2, 0.1m, 10, "standard deviations from the middle band to the upper and lower ones"),
        OrderQuoteKnob, MaxOpenTradesKnob, .. ExitKnobs,
    ];

    public int CandlesNeeded(KnobValues knobs) => knobs.Integer(Period) + 1;

    public IEnumerable<(string Knob, string Reason)> Conflicts(KnobValues knobs) => [];

    public Stops StopsOf(OpenTrade trade, KnobValues knobs) => PercentStops(trade, knobs);

    public IReadOnlyList<StrategyOrder> Decide(StrategyInput input)
    {
        var knobs = input.Knobs;
        var needed = CandlesNeeded(knobs);
        if (input.ClosedCandles.Count < needed || input.NewCandles < 1) return [];
        var closes = LastCloses(input.ClosedCandles, needed);
        var bands = Bollinger.Of(closes, knobs.Integer(Period), knobs.Decimal(Width));
        var (before, now) = (bands[^2]!.Value, bands[^1]!.Value);
        var open = OpenOfSymbol(input);
        if (closes[^1] < now.Middle) return CloseAll(open, $"close {Text(closes[^1])} fell below the middle band {Text(now.Middle)}");
        if (closes[^2] <= before.Upper && closes[^1] > now.Upper)
            return BuyIfRoom(input, open.Count, $"close {Text(closes[^1])} broke above the upper band {Text(now.Upper)}");
        return [];
    }
}
