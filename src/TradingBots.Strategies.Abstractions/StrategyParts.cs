namespace TradingBots.Strategies;

/// <summary>
/// What the built-in strategies share: the knobs of sizing and exits, declared once, and small readings of a strategy's
/// input. Indicators are computed on the last <see cref="IStrategyLogic.CandlesNeeded"/> closes only (<see cref="LastCloses"/>):
/// a live tick gets more candles than a backtest gives, and a smoothed indicator (EMA, RSI) depends on where it starts,
/// so both start it at the same candle and agree to the last digit.
/// </summary>
public static class StrategyParts
{
    public const string OrderQuote = "order_quote", MaxOpenTrades = "max_open_trades", StopLossPct = "stop_loss_pct", TakeProfitPct = "take_profit_pct";

    public static KnobSpec OrderQuoteKnob { get; } = new(OrderQuote, KnobType.Decimal, 100, 0.00000001m, 1_000_000_000_000m, "quote amount of each buy");

    public static KnobSpec MaxOpenTradesKnob { get; } = new(MaxOpenTrades, KnobType.Integer, 1, 1, 100, "open trades at most (per symbol)");

    /// <summary>The stop loss and take profit knobs, judged on every price (<see cref="PercentStops"/>).</summary>
    public static IReadOnlyList<KnobSpec> ExitKnobs { get; } =
    [
        new(StopLossPct, KnobType.Decimal, null, 0.01m, 99.99m, "close a trade when the price falls this many percent below its entry (absent: off)"),
        new(TakeProfitPct, KnobType.Decimal, null, 0.01m, 10_000m, "close a trade when the price rises this many percent above its entry (absent: off)"),
    ];

    /// <summary>stop_loss_pct below the entry price and take_profit_pct above it, exactly (a price is compared with them).</summary>
    public static Stops PercentStops(OpenTrade trade, KnobValues knobs) => new(
        knobs.Get(StopLossPct) is { } sl ? trade.EntryPrice * (1 - sl / 100) : null,
        knobs.Get(TakeProfitPct) is { } tp ? trade.EntryPrice * (1 + tp / 100) : null);

    /// <summary>The closes of the last <paramref name="count"/> candles (all when fewer), oldest first.</summary>
    public static decimal[] LastCloses(IReadOnlyList<Candle> candles, int count)
    {
        var from = Math.Max(0, candles.Count - count);
        var closes = new decimal[candles.Count - from];
        for (var i = from; i < candles.Count; i++) closes[i - from] = candles[i].Close;
        return closes;
    }

    /// <summary>The input's open trades of its symbol.</summary>
    public static List<OpenTrade> OpenOfSymbol(StrategyInput input) => [.. input.OpenTrades.Where(t => t.Symbol == input.Symbol)];

    /// <summary>Every open trade of the symbol closed, for <paramref name="reason"/>.</summary>
    public static IReadOnlyList<StrategyOrder> CloseAll(IEnumerable<OpenTrade> open, string reason) => [.. open.Select(t => StrategyOrder.Close(t, reason))];

    /// <summary>A buy of order_quote when fewer than max_open_trades of the symbol are open, else nothing.</summary>
    public static IReadOnlyList<StrategyOrder> BuyIfRoom(StrategyInput input, int open, string reason) =>
        open < input.Knobs.Integer(MaxOpenTrades) ? [StrategyOrder.Buy(input.Symbol, input.Knobs.Decimal(OrderQuote), reason)] : [];

    /// <summary>A number for a reason's text: at most <paramref name="places"/> decimals, no trailing zeros.</summary>
    public static string Text(decimal value, int places = 8) =>
        (Math.Round(value, places) / 1.000000000000000000000000000000000m).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
