namespace TradingBots.Strategies;

/// <summary>
/// <c>llm</c> v1: a local model (through Ollama) decides. On each newly closed candle the model is shown the last
/// <c>candles</c> closed candles, the price and the bot's open trades of the symbol, with the owner's <c>prompt</c>, and
/// answers buy, sell or hold with a confidence. A buy at or above <c>min_confidence</c> buys <c>order_quote</c> when no
/// trade of the symbol is open; a sell at or above it closes the symbol's open trades; anything else holds. No answer
/// (no such model, a timeout, a refusal, an answer outside the schema) holds too.
/// </summary>
public sealed class Llm : IAdvisedStrategy
{
    public const string Model = "model", Prompt = "prompt", OrderQuote = "order_quote", MinConfidence = "min_confidence", Candles = "candles";

    public string Name => "llm";
    public int Version => 1;
    public string Description => "a local model (Ollama) decides buy, sell or hold on each closed candle, from the recent candles and the open position";

    public IReadOnlyList<KnobSpec> Knobs { get; } =
    [
        new(Model, KnobType.Text, null, 1, 200, "the Ollama model that decides (one GET /ai/models lists); checked when the bot starts", Required: true),
        new(Prompt, KnobType.Text, null, 1, 2000, "extra instructions for the model (absent: none)"),
        StrategyParts.OrderQuoteKnob,
        new(MinConfidence, KnobType.Decimal, 0.5m, 0, 1, "a buy or sell is acted on only at this confidence or above"),
        new(Candles, KnobType.Integer, 50, 5, 500, "closed candles shown to the model"),
    ];

    public int CandlesNeeded(KnobValues knobs) => knobs.Integer(Candles);

    public IEnumerable<(string Knob, string Reason)> Conflicts(KnobValues knobs) => [];

    string IAdvisedStrategy.Model(KnobValues knobs) => knobs.Text(Model)!;

    public AdviceRequest Ask(StrategyInput input, string timeframe) => new(input.Knobs.Text(Model)!, input.Knobs.Text(Prompt), input.Symbol, timeframe,
        input.Price, [.. input.ClosedCandles.TakeLast(input.Knobs.Integer(Candles))], [.. input.OpenTrades.Where(t => t.Symbol == input.Symbol)]);

    public IReadOnlyList<StrategyOrder> Decide(StrategyInput input)
    {
        if (input.Advice is not { } advice || advice.Confidence < input.Knobs.Decimal(MinConfidence)) return [];
        var open = input.OpenTrades.Where(t => t.Symbol == input.Symbol).ToList();
        var why = $"{input.Knobs.Text(Model)} says {advice.Action} ({WireNumber(advice.Confidence)}): {advice.Reason}";
        return advice.Action switch
        {
            Advice.Buy when open.Count == 0 => [StrategyOrder.Buy(input.Symbol, input.Knobs.Decimal(OrderQuote), why)],
            Advice.Sell => [.. open.Select(t => StrategyOrder.Close(t, why))],
            _ => [],
        };
    }

    private static string WireNumber(decimal value) => (value / 1.000000000000000000000000000000000m).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
