using System.Text.Json;
using System.Text.RegularExpressions;
using TradingBots.Paper;

namespace TradingBots.Trading;

/// <summary>Reads a POST /orders body into an <see cref="OrderRequest"/>, or says which field is wrong and why.</summary>
public static partial class OrderValidation
{
    /// <summary>No paper account trades more than this in one order (base or quote): larger is a typo.</summary>
    private const decimal MaxAmount = 1_000_000_000_000m;
    private const int MaxDecimals = PaperRules.Scale;

    [GeneratedRegex("^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}$")]
    private static partial Regex UnifiedSymbol();

    public static OrderRequest Parse(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object) throw Invalid("body", "must be a JSON object");

        var botId = Optional(body, "bot_id") is { } bot
            ? bot.ValueKind == JsonValueKind.Number && bot.TryGetInt64(out var id) && id > 0 ? id : throw Invalid("bot_id", "must be a positive integer")
            : (long?)null;
        var symbol = Text(body, "symbol");
        if (!UnifiedSymbol().IsMatch(symbol)) throw Invalid("symbol", $"malformed symbol '{symbol}': expected BASE/QUOTE, e.g. BTC/USDT");
        var side = Text(body, "side");
        if (side is not (Sides.Buy or Sides.Sell)) throw Invalid("side", $"must be buy or sell, not '{side}'");
        var type = Text(body, "type");
        if (type != "market") throw Invalid("type", $"only market orders are supported in paper mode, not '{type}'");

        var quoteAmount = Amount(body, "quote_amount");
        var baseQty = Amount(body, "base_qty");
        if (side == Sides.Buy && quoteAmount.HasValue == baseQty.HasValue)
            throw Invalid(quoteAmount.HasValue ? "base_qty" : "quote_amount", "a buy takes exactly one of quote_amount or base_qty");
        if (side == Sides.Sell && quoteAmount.HasValue && baseQty.HasValue)
            throw Invalid("base_qty", "a sell takes at most one of quote_amount or base_qty");
        return new OrderRequest(botId, symbol, side, quoteAmount, baseQty);
    }

    private static JsonElement? Optional(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string Text(JsonElement body, string name) => Optional(body, name) switch
    {
        null => throw Invalid(name, "is required"),
        { ValueKind: JsonValueKind.String } value => value.GetString()!,
        _ => throw Invalid(name, "must be a string"),
    };

    private static decimal? Amount(JsonElement body, string name)
    {
        if (Optional(body, name) is not { } value) return null;
        if (value.ValueKind != JsonValueKind.Number) throw Invalid(name, "must be a JSON number");
        if (!value.TryGetDecimal(out var amount) || amount > MaxAmount) throw Invalid(name, $"must be at most {MaxAmount}");
        if (amount <= 0) throw Invalid(name, "must be greater than zero");
        if (amount.Scale > MaxDecimals) throw Invalid(name, $"at most {MaxDecimals} decimal places");
        return amount;
    }

    private static PaperException Invalid(string field, string reason) => new(400, field, reason);
}
