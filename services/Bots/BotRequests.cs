using System.Text.Json;
using System.Text.RegularExpressions;
using TradingBots.Binance;
using TradingBots.Paper;
using TradingBots.Strategies;
using TradingBots.Strategies.Users;

namespace TradingBots.Bots;

/// <summary>A POST /bots body, checked: exactly the spec's fields, every problem named by its field.</summary>
public sealed record NewBot(string Name, IReadOnlyList<string> Symbols, string Timeframe, IStrategy Strategy, string Knobs);

public static partial class BotRequests
{
    public const int MaxSymbols = 20, MaxName = 100;

    [GeneratedRegex("^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}$")]
    private static partial Regex UnifiedSymbol();

    /// <summary>The bot to create, or the problems of the body (field → reasons); the exchange is asked afterwards.</summary>
    public static (NewBot? Bot, Dictionary<string, string[]> Errors) Parse(JsonElement body, StrategyLookup strategies)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (body.ValueKind != JsonValueKind.Object) return (null, new() { ["body"] = ["must be a JSON object"] });
        void Fail(string field, string reason) => errors[field] = [reason];

        var name = Optional(body, "name") is { ValueKind: JsonValueKind.String } n ? n.GetString()!.Trim() : null;
        if (name is null) Fail("name", "is required (a string)");
        else if (name.Length is 0 or > MaxName) Fail("name", $"must be 1 to {MaxName} characters");

        var symbols = Symbols(body, Fail);

        var timeframe = Optional(body, "timeframe") is { ValueKind: JsonValueKind.String } t ? t.GetString()! : null;
        if (timeframe is null) Fail("timeframe", "is required (a string)");
        else if (!BinanceClient.Intervals.Contains(timeframe))
            Fail("timeframe", $"'{timeframe}' is not a Binance interval; one of {string.Join(", ", BinanceClient.Intervals)}");

        switch (Optional(body, "paper_mode"))
        {
            case null or { ValueKind: JsonValueKind.True }: break;
            case { ValueKind: JsonValueKind.False }: Fail("paper_mode", "live trading is not offered: bots trade in paper mode only"); break;
            default: Fail("paper_mode", "must be true or false"); break;
        }

        IStrategy? strategy = null;
        switch (Optional(body, "strategy"))
        {
            case null:
                strategy = strategies.Find(StrategyRegistry.Default)!;
                break;
            case { ValueKind: JsonValueKind.String } s:
                strategy = strategies.Find(s.GetString()!);
                if (strategy is null) Fail("strategy", strategies.Refusal(s.GetString()!));
                break;
            default:
                Fail("strategy", "must be a strategy name, e.g. \"baseline\" or \"baseline@1\"");
                break;
        }

        var knobs = Optional(body, "knobs") ?? JsonDocument.Parse("{}").RootElement;
        if (strategy is not null) foreach (var (field, reasons) in StrategyRegistry.Validate(strategy, knobs)) errors[field] = reasons;

        foreach (var field in body.EnumerateObject().Select(p => p.Name).Except(["name", "symbols", "timeframe", "paper_mode", "strategy", "knobs"]))
            Fail(field, "unknown field");

        return errors.Count > 0 ? (null, errors) : (new NewBot(name!, symbols!, timeframe!, strategy!, StrategyRegistry.Normalize(strategy!, knobs)), errors);
    }

    /// <summary>The symbols field of a bot or a backtest: 1 to 20 BASE/QUOTE symbols, no repeats, one quote currency.</summary>
    internal static List<string>? Symbols(JsonElement body, Action<string, string> fail)
    {
        if (Optional(body, "symbols") is not { ValueKind: JsonValueKind.Array } array || array.GetArrayLength() == 0)
        {
            fail("symbols", "is required: a non-empty array such as [\"BTC/USDT\"]");
            return null;
        }
        if (array.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String))
        {
            fail("symbols", "must be strings such as \"BTC/USDT\"");
            return null;
        }
        var symbols = array.EnumerateArray().Select(s => s.GetString()!).ToList();
        if (symbols.Count > MaxSymbols) fail("symbols", $"at most {MaxSymbols} symbols");
        else if (symbols.FirstOrDefault(s => !UnifiedSymbol().IsMatch(s)) is { } bad) fail("symbols", $"malformed symbol '{bad}': expected BASE/QUOTE, e.g. BTC/USDT");
        else if (symbols.GroupBy(s => s).FirstOrDefault(g => g.Count() > 1) is { } twice) fail("symbols", $"{twice.Key} is listed twice");
        else if (symbols.Select(PaperRules.QuoteOf).Distinct().Count() > 1)
        {
            // A bot is one paper account, and an account holds one currency.
            fail("symbols", $"must share one quote currency (the bot's account holds one): {string.Join(", ", symbols.Select(s => $"{s} is quoted in {PaperRules.QuoteOf(s)}"))}");
        }
        else return symbols;
        return null;
    }

    /// <summary>A POST /bots/{id}/knobs body merged into a bot's knobs: given knobs replace, a null resets one to its default.</summary>
    public static (string? Merged, Dictionary<string, string[]> Errors) Merge(IStrategy strategy, string current, JsonElement patch)
    {
        if (patch.ValueKind != JsonValueKind.Object) return (null, new() { ["body"] = ["must be a JSON object of knobs"] });
        // Kept in order: the knobs there were (as patched), then the new ones.
        using var existing = JsonDocument.Parse(current);
        var given = patch.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);
        var merged = new List<KeyValuePair<string, JsonElement>>();
        foreach (var knob in existing.RootElement.EnumerateObject())
        {
            var value = given.Remove(knob.Name, out var patched) ? patched : knob.Value;
            if (value.ValueKind != JsonValueKind.Null) merged.Add(new(knob.Name, value));
        }
        merged.AddRange(given.Where(g => g.Value.ValueKind != JsonValueKind.Null));
        var json = JsonSerializer.Serialize(merged.ToDictionary(k => k.Key, k => k.Value));
        using var document = JsonDocument.Parse(json);
        var errors = StrategyRegistry.Validate(strategy, document.RootElement);
        return errors.Count > 0 ? (null, errors) : (StrategyRegistry.Normalize(strategy, document.RootElement), errors);
    }

    internal static JsonElement? Optional(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
}
