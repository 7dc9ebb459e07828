namespace TradingBots.Strategies;

/// <summary>A closed candle: open time (Unix ms) and OHLCV, as the Market service serves them.</summary>
public sealed record Candle(long OpenTime, decimal Open, decimal High, decimal Low, decimal Close, decimal Volume);

/// <summary>An open trade of the bot, as a strategy sees it.</summary>
public sealed record OpenTrade(long TradeId, string Symbol, decimal Qty, decimal EntryPrice, decimal CostBasisQuote, decimal FeesPaidQuote);

/// <summary>
/// What a strategy is asked with on each tick, for one of the bot's symbols. <see cref="NewCandles"/>: how many of the
/// closed candles closed since it was last asked (1 normally; more when a tick came late; 0 only for an advised strategy whose answer came after its tick), so every
/// candle is judged once, live as in a backtest. <see cref="Advice"/>: a model's answer, for a strategy the platform asks a model for (the built-in llm).
/// </summary>
public sealed record StrategyInput(string Symbol, IReadOnlyList<Candle> ClosedCandles, decimal Price, IReadOnlyList<OpenTrade> OpenTrades,
    KnobValues Knobs, int NewCandles = 1, Advice? Advice = null);

/// <summary>
/// What a strategy wants done, executed by the paper engine (the same rules as POST /orders): buy
/// <see cref="QuoteAmount"/> of the symbol, or close the trade <see cref="TradeId"/> whole. <see cref="Reason"/> says why.
/// The symbol is the one the strategy was asked about (<see cref="StrategyInput.Symbol"/>) and a close names one of its
/// open trades of that symbol (<see cref="StrategyInput.OpenTrades"/>): anything else is refused, live and in a backtest.
/// </summary>
public sealed record StrategyOrder(string Symbol, string Side, decimal? QuoteAmount, long? TradeId, string Reason)
{
    public static StrategyOrder Buy(string symbol, decimal quote, string reason) => new(symbol, "buy", quote, null, reason);

    public static StrategyOrder Close(OpenTrade trade, string reason) => new(trade.Symbol, "sell", null, trade.TradeId, reason);
}

/// <summary>
/// What a strategy decides: pure code, candles and the bot's open trades in, orders out. Its knobs are declared once in
/// <see cref="Knobs"/> (types, ranges, defaults: the API validates a bot's knobs against them, GET /strategies lists them);
/// <see cref="Decide"/> sees only its input. The same object is asked live (once per closed candle of each symbol, on the
/// Worker) and in a backtest (once per candle), so it must keep no state between calls that the input does not give it.
/// A user strategy (a C# file in the strategies folder) implements this interface; its name and version are the
/// platform's (the file's name, and a new version for each change of its content).
/// </summary>
public interface IStrategyLogic
{
    /// <summary>One line for GET /strategies and the dashboard: what it trades on.</summary>
    string Description { get; }

    /// <summary>
    /// Closed candles it needs at least for a decision: a live tick fetches this many (and a few more); at the start of a
    /// backtest's range it may be given fewer, and then holds (returns no orders).
    /// </summary>
    int CandlesNeeded(KnobValues knobs);

    /// <summary>Its own knobs (every bot also has the platform's: tick_seconds, starting_cash, fill_model and the others).</summary>
    IReadOnlyList<KnobSpec> Knobs { get; }

    /// <summary>Checks between knobs (e.g. fast below slow), after each knob passed its own range: knob → reason.</summary>
    IEnumerable<(string Knob, string Reason)> Conflicts(KnobValues knobs) => [];

    /// <summary>The orders for this input's symbol (none: hold). They fill at the first price after the newest candle's close.</summary>
    IReadOnlyList<StrategyOrder> Decide(StrategyInput input);

    /// <summary>
    /// The trade's protective exits (none by default). They are judged on every price the market shows, not only at candle
    /// closes: live on each tick's price, in a backtest on each candle's open, low and high.
    /// </summary>
    Stops StopsOf(OpenTrade trade, KnobValues knobs) => default;
}

/// <summary>A strategy with its identity: found by (<see cref="Name"/>, <see cref="Version"/>), a bot stores "name@version".</summary>
public interface IStrategy : IStrategyLogic
{
    string Name { get; }

    int Version { get; }
}

/// <summary>A trade's stop loss (it is closed at or below it) and take profit (at or above it); null: none.</summary>
public readonly record struct Stops(decimal? StopLoss, decimal? TakeProfit);

