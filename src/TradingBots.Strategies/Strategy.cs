namespace TradingBots.Strategies;

/// <summary>A closed candle: open time (Unix ms) and OHLCV, as the Market service serves them.</summary>
public sealed record Candle(long OpenTime, decimal Open, decimal High, decimal Low, decimal Close, decimal Volume);

/// <summary>An open trade of the bot, as a strategy sees it.</summary>
public sealed record OpenTrade(long TradeId, string Symbol, decimal Qty, decimal EntryPrice, decimal CostBasisQuote, decimal FeesPaidQuote);

/// <summary>
/// What a strategy is asked with on each tick, for one of the bot's symbols. <see cref="NewCandles"/>: how many of the
/// closed candles closed since it was last asked (1 normally; more when a tick came late; 0 only for an advised strategy whose answer came after its tick), so every
/// candle is judged once, live as in a backtest. <see cref="Advice"/>: a model's answer, for an <see cref="IAdvisedStrategy"/>.
/// </summary>
public sealed record StrategyInput(string Symbol, IReadOnlyList<Candle> ClosedCandles, decimal Price, IReadOnlyList<OpenTrade> OpenTrades,
    KnobValues Knobs, int NewCandles = 1, Advice? Advice = null);

/// <summary>
/// What a strategy wants done, executed by the paper engine (the same rules as POST /orders): buy
/// <see cref="QuoteAmount"/> of the symbol, or close the trade <see cref="TradeId"/> whole. <see cref="Reason"/> says why.
/// </summary>
public sealed record StrategyOrder(string Symbol, string Side, decimal? QuoteAmount, long? TradeId, string Reason)
{
    public static StrategyOrder Buy(string symbol, decimal quote, string reason) => new(symbol, "buy", quote, null, reason);

    public static StrategyOrder Close(OpenTrade trade, string reason) => new(trade.Symbol, "sell", null, trade.TradeId, reason);
}

/// <summary>
/// A trading strategy: pure code, found by (<see cref="Name"/>, <see cref="Version"/>) in the <see cref="StrategyRegistry"/>.
/// Its knobs are declared once in <see cref="Knobs"/>; <see cref="Decide"/> sees only its input and returns orders.
/// </summary>
public interface IStrategy
{
    string Name { get; }
    int Version { get; }
    string Description { get; }

    /// <summary>Closed candles it needs at least for a decision (fewer: it holds).</summary>
    int CandlesNeeded(KnobValues knobs);

    IReadOnlyList<KnobSpec> Knobs { get; }

    /// <summary>Checks between knobs (e.g. fast below slow), after each knob passed its own range; field → reason.</summary>
    IEnumerable<(string Knob, string Reason)> Conflicts(KnobValues knobs);

    IReadOnlyList<StrategyOrder> Decide(StrategyInput input);

    /// <summary>
    /// The trade's protective exits (none by default). They are judged on every price the market shows, not only at candle
    /// closes (<see cref="StopRule"/>): live on each tick's price, in a backtest on each candle's open, low and high.
    /// </summary>
    Stops StopsOf(OpenTrade trade, KnobValues knobs) => default;
}

/// <summary>A trade's stop loss (it is closed at or below it) and take profit (at or above it); null: none.</summary>
public readonly record struct Stops(decimal? StopLoss, decimal? TakeProfit);

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
