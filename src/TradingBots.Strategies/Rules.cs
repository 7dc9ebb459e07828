namespace TradingBots.Strategies;

/// <summary>An exit a stop triggered: the price it fills at (before the account's fill terms) and why.</summary>
public readonly record struct StopExit(decimal Price, string Reason);

/// <summary>
/// When a stop closes a trade, live and in a backtest. Live, each tick's price is judged: a price at or beyond a stop closes
/// the trade at market, at that tick's price. In a backtest each candle is judged as it trades: a candle that opens at or
/// beyond a stop fills at its open (the price gapped through the stop); else a low that reaches the stop loss fills at
/// the stop loss, a high that reaches the take profit at the take profit. When one candle's range holds both, the stop
/// loss is taken (a candle does not say which came first; the worse is assumed).
/// </summary>
public static class StopRule
{
    public static StopExit? OnPrice(Stops stops, decimal price) =>
        stops.StopLoss is { } sl && price <= sl ? new(price, $"stop loss: {Text(price)} is at or below the stop {Text(sl)}")
        : stops.TakeProfit is { } tp && price >= tp ? new(price, $"take profit: {Text(price)} is at or above the target {Text(tp)}")
        : null;

    public static StopExit? InCandle(Stops stops, Candle candle)
    {
        if (stops.StopLoss is { } sl && candle.Open <= sl) return new(candle.Open, $"stop loss: opened at {Text(candle.Open)}, through the stop {Text(sl)}");
        if (stops.TakeProfit is { } tp && candle.Open >= tp) return new(candle.Open, $"take profit: opened at {Text(candle.Open)}, through the target {Text(tp)}");
        if (stops.StopLoss is { } loss && candle.Low <= loss) return new(loss, $"stop loss: the low {Text(candle.Low)} reached the stop {Text(loss)}");
        if (stops.TakeProfit is { } profit && candle.High >= profit) return new(profit, $"take profit: the high {Text(candle.High)} reached the target {Text(profit)}");
        return null;
    }

    private static string Text(decimal value) => (value / 1.000000000000000000000000000000000m).ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// The rule live bots and backtests share: a strategy is judged on closed candles, once per candle, at the close of the
/// newest one (its <see cref="StrategyInput.Price"/>), and what it decides fills at the first price after that close, so
/// nothing looks ahead. Live, the Worker judges a candle at its first tick after the close and fills at that tick's live
/// ticker, by the account's fill terms; a backtest fills at the next candle's open (on ExchangeSim exactly the close; on
/// Binance at it or within a tick of it). Stops are judged on every price (<see cref="StopRule"/>).
/// </summary>
public static class FillRule
{
    /// <summary>The price a decision on these closed candles is judged at: the close of the newest.</summary>
    public static decimal Price(IReadOnlyList<Candle> closed) => closed[^1].Close;
}

/// <summary>
/// What a strategy's order may name, live and in a backtest: the symbol it was asked about, and for a close one of the
/// account's open trades of that symbol (as the strategy was given them). Anything else is refused, never filled at the
/// asked symbol's price.
/// </summary>
public static class OrderRule
{
    /// <summary>Why the order is refused, or null.</summary>
    public static string? Refusal(StrategyOrder order, string asked, IReadOnlyList<OpenTrade> open) =>
        order.Symbol != asked ? $"{order.Side} {order.Symbol} refused: the strategy was asked about {asked}"
        : order.TradeId is { } id && !open.Any(t => t.TradeId == id && t.Symbol == asked)
            ? $"{order.Side} {order.Symbol} refused: trade {id} is not an open {asked} trade of this account"
        : null;
}
