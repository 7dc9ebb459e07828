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
}

/// <summary>
/// The fill rule live bots and backtests share: a strategy is judged on closed candles, once per candle, at the close of
/// the newest one, and what it decides fills at that close (its <see cref="StrategyInput.Price"/>), never at a price
/// from inside a later candle. Live, the Worker judges a candle at its first tick after the close and fills at the close
/// the exchange reports for it (on Binance the next candle opens at it or within a tick of it; on ExchangeSim exactly at
/// it); a backtest judges each candle of its range in turn. Stop loss and take profit are judged at candle closes too.
/// </summary>
public static class FillRule
{
    /// <summary>The price a decision on these closed candles fills at: the close of the newest.</summary>
    public static decimal Price(IReadOnlyList<Candle> closed) => closed[^1].Close;
}
