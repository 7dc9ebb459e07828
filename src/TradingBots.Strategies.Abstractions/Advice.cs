using System.Text.Json;

namespace TradingBots.Strategies;

/// <summary>
/// A model's decision on a symbol, as a strategy the platform asks a model for is given it: <see cref="Action"/> buy, sell or hold,
/// <see cref="Confidence"/> from 0 to 1, <see cref="Reason"/> in the model's words.
/// </summary>
public sealed record Advice(string Action, decimal Confidence, string Reason)
{
    public const string Buy = "buy", Sell = "sell", Hold = "hold";

    /// <summary>The longest reason kept (a model that rambles is cut here).</summary>
    public const int MaxReason = 500;

    /// <summary>The JSON schema the model is asked to answer in (Ollama's structured outputs).</summary>
    public const string Schema = """
        {"type":"object","properties":{"action":{"type":"string","enum":["buy","sell","hold"]},"confidence":{"type":"number","minimum":0,"maximum":1},"reason":{"type":"string"}},"required":["action","confidence","reason"]}
        """;

    /// <summary>
    /// A model's answer read strictly: a JSON object with <c>action</c> one of buy, sell, hold (any case), <c>confidence</c>
    /// a number from 0 to 1, <c>reason</c> a non-empty string. Anything else is the problem, said, and no advice.
    /// </summary>
    public static (Advice? Advice, string? Problem) Parse(string answer)
    {
        JsonDocument json;
        try { json = JsonDocument.Parse(answer); }
        catch (JsonException) { return (null, $"not JSON: {Excerpt(answer)}"); }
        using (json)
        {
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, $"not a JSON object: {Excerpt(answer)}");
            if (!root.TryGetProperty("action", out var action) || action.ValueKind != JsonValueKind.String
                || action.GetString()!.Trim().ToLowerInvariant() is not (Buy or Sell or Hold))
                return (null, $"action must be buy, sell or hold: {Excerpt(answer)}");
            if (!root.TryGetProperty("confidence", out var confidence) || confidence.ValueKind != JsonValueKind.Number
                || !confidence.TryGetDecimal(out var sure) || sure < 0 || sure > 1)
                return (null, $"confidence must be a number from 0 to 1: {Excerpt(answer)}");
            if (!root.TryGetProperty("reason", out var reason) || reason.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(reason.GetString()))
                return (null, $"reason must be a non-empty string: {Excerpt(answer)}");
            var why = reason.GetString()!.Trim();
            return (new Advice(action.GetString()!.Trim().ToLowerInvariant(), sure, why.Length > MaxReason ? why[..MaxReason] : why), null);
        }
    }

    private static string Excerpt(string text) => text.Length > 120 ? text[..120] + "…" : text;
}
