namespace TradingBots.Strategies;

/// <summary>What a model is asked about one symbol: the recent closed candles, the price and the bot's open trades.</summary>
public sealed record AdviceRequest(string Model, string? Prompt, string Symbol, string Timeframe, decimal Price,
    IReadOnlyList<Candle> Candles, IReadOnlyList<OpenTrade> OpenTrades);

/// <summary>
/// A strategy that decides on a model's advice: it says what to ask (<see cref="Ask"/>), the Worker asks the AI service,
/// and <see cref="IStrategy.Decide"/> gets the answer as <see cref="StrategyInput.Advice"/> (none: the model could not be
/// asked or did not answer in the schema; the strategy then holds). Both halves stay pure.
/// </summary>
public interface IAdvisedStrategy : IStrategy
{
    /// <summary>The model these knobs name (a bot starts only when Ollama has it).</summary>
    string Model(KnobValues knobs);

    AdviceRequest Ask(StrategyInput input, string timeframe);
}
