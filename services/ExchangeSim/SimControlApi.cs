using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace TradingBots.ExchangeSim;

/// <summary>
/// The control API tests and developers drive the simulator with (/sim): pin prices and order books, inject faults,
/// read the request counts, reset. Errors are ProblemDetails naming the field at fault.
/// </summary>
public static class SimControlApi
{
    private const decimal MinPrice = 0.00000001m;
    private const int MaxLatencyMs = 60_000;

    public static IEndpointRouteBuilder MapSimControlApi(this IEndpointRouteBuilder app)
    {
        var sim = app.MapGroup("/sim");
        sim.MapGet("/prices", (MarketSimulator market) =>
            TypedResults.Ok(SymbolCatalog.All.ToDictionary(s => s.Symbol, market.CurrentPrice)));
        sim.MapPut("/prices/{exchangeSymbol}", PutPrice);
        sim.MapPut("/books/{exchangeSymbol}", PutBook);
        sim.MapDelete("/books/{exchangeSymbol}", DeleteBook);
        sim.MapPost("/faults", PostFaults);
        sim.MapPost("/reset", (MarketSimulator market, FaultBoard faults, UsageMeter usage) =>
        {
            market.ClearPins();
            market.ClearBooks();
            faults.Clear();
            usage.Clear();
            return TypedResults.NoContent();
        });
        sim.MapGet("/stats", (UsageMeter usage) => TypedResults.Ok(new Stats(usage.Requests)));
        return app;
    }

    public sealed record PinnedPrice(string Symbol, decimal Price);

    /// <summary>A pinned order book as stored: [price, qty] levels, bids best (highest) first, asks best (lowest) first.</summary>
    public sealed record PinnedBook(string Symbol, IReadOnlyList<decimal[]> Bids, IReadOnlyList<decimal[]> Asks);

    public sealed record ActiveFaults(IReadOnlyDictionary<string, string> Faults);

    public sealed record Stats(IReadOnlyDictionary<string, long> Requests);

    private static async Task<Results<Ok<PinnedPrice>, ProblemHttpResult, ValidationProblem>> PutPrice(
        string exchangeSymbol, HttpRequest request, MarketSimulator market)
    {
        if (SymbolCatalog.Find(exchangeSymbol.ToUpperInvariant()) is not { } spec)
            return UnknownSymbol(exchangeSymbol);
        var body = await ReadJsonAsync(request);
        if (body is not { ValueKind: JsonValueKind.Object } || !body.Value.TryGetProperty("price", out var price))
            return Invalid("price", "price is required.");
        if (price.ValueKind != JsonValueKind.Number || !price.TryGetDecimal(out var value))
            return Invalid("price", "price must be a number.");
        if (value < MinPrice) return Invalid("price", $"price must be at least {MinPrice}.");
        return TypedResults.Ok(new PinnedPrice(spec.Symbol, market.Pin(spec, value)));
    }

    /// <summary>
    /// Pins the symbol's order book: <c>{"bids": [[price, qty], …], "asks": [[price, qty], …]}</c> in JSON numbers,
    /// each price and qty positive with at most 8 decimals, bids strictly descending, asks strictly ascending, the best
    /// bid below the best ask, at most 5000 levels a side (a side may be empty).
    /// </summary>
    private static async Task<Results<Ok<PinnedBook>, ProblemHttpResult, ValidationProblem>> PutBook(
        string exchangeSymbol, HttpRequest request, MarketSimulator market)
    {
        if (SymbolCatalog.Find(exchangeSymbol.ToUpperInvariant()) is not { } spec)
            return UnknownSymbol(exchangeSymbol);
        var body = await ReadJsonAsync(request);
        if (body is not { ValueKind: JsonValueKind.Object })
            return Invalid("bids", """the body must be {"bids": [[price, qty], …], "asks": [[price, qty], …]}.""");
        if (ReadSide(body.Value, "bids", descending: true, out var bids) is { } bidsProblem) return Invalid("bids", bidsProblem);
        if (ReadSide(body.Value, "asks", descending: false, out var asks) is { } asksProblem) return Invalid("asks", asksProblem);
        if (bids.Count > 0 && asks.Count > 0 && bids[0].Price >= asks[0].Price)
            return Invalid("asks", $"the best ask ({asks[0].Price}) must be above the best bid ({bids[0].Price}).");

        market.PinBook(spec, bids, asks);
        return TypedResults.Ok(new PinnedBook(spec.Symbol, [.. bids.Select(l => new[] { l.Price, l.Qty })],
            [.. asks.Select(l => new[] { l.Price, l.Qty })]));
    }

    /// <summary>One side of a book to pin, or what is wrong with it.</summary>
    private static string? ReadSide(JsonElement body, string side, bool descending, out List<BookLevel> levels)
    {
        levels = [];
        if (!body.TryGetProperty(side, out var json) || json.ValueKind != JsonValueKind.Array)
            return $"{side} is required: an array of [price, qty] pairs of JSON numbers.";
        if (json.GetArrayLength() > MarketSimulator.MaxBookLevels)
            return $"{side} has {json.GetArrayLength()} levels; at most {MarketSimulator.MaxBookLevels}.";
        foreach (var level in json.EnumerateArray())
        {
            var at = $"{side}[{levels.Count}]";
            if (level.ValueKind != JsonValueKind.Array || level.GetArrayLength() != 2
                || level[0].ValueKind != JsonValueKind.Number || level[1].ValueKind != JsonValueKind.Number
                || !level[0].TryGetDecimal(out var price) || !level[1].TryGetDecimal(out var qty))
                return $"{at} must be a [price, qty] pair of JSON numbers.";
            if (price <= 0 || qty <= 0) return $"{at}: price and qty must be positive.";
            if (price != Math.Round(price, 8) || qty != Math.Round(qty, 8))
                return $"{at}: price and qty have at most 8 decimals, as Binance sends them.";
            if (levels.Count > 0 && (descending ? price >= levels[^1].Price : price <= levels[^1].Price))
                return $"{at}: prices must be strictly {(descending ? "descending" : "ascending")} ({price} after {levels[^1].Price}).";
            levels.Add(new BookLevel(price, qty));
        }
        return null;
    }

    /// <summary>Back to the synthetic book around the price (also when none was pinned).</summary>
    private static Results<NoContent, ProblemHttpResult> DeleteBook(string exchangeSymbol, MarketSimulator market)
    {
        if (SymbolCatalog.Find(exchangeSymbol.ToUpperInvariant()) is not { } spec)
            return UnknownSymbol(exchangeSymbol);
        market.UnpinBook(spec);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<ActiveFaults>, ValidationProblem>> PostFaults(HttpRequest request, FaultBoard faults)
    {
        var modes = string.Join("|", FaultBoard.Modes.Keys);
        var body = await ReadJsonAsync(request);
        if (body is not { ValueKind: JsonValueKind.Object } || !body.Value.TryGetProperty("mode", out var modeJson))
            return Invalid("mode", $"mode is required: {modes}.");
        if (modeJson.ValueKind != JsonValueKind.String || !FaultBoard.Modes.TryGetValue(modeJson.GetString()!, out var mode))
            return Invalid("mode", $"mode must be one of {modes}.");

        var symbols = SymbolCatalog.All;
        if (body.Value.TryGetProperty("symbols", out var symbolsJson) && symbolsJson.ValueKind != JsonValueKind.Null)
        {
            if (symbolsJson.ValueKind != JsonValueKind.Array || symbolsJson.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.String))
                return Invalid("symbols", "symbols must be an array of symbols.");
            var names = symbolsJson.EnumerateArray().Select(s => s.GetString()!).ToList();
            if (names.FirstOrDefault(n => SymbolCatalog.Find(n.ToUpperInvariant()) is null) is { } unknown)
                return Invalid("symbols", $"Unknown symbol '{unknown}'.");
            symbols = [.. names.Select(n => SymbolCatalog.Find(n.ToUpperInvariant())!)];
        }

        var latency = 0;
        if (mode == FaultMode.Latency)
        {
            if (!body.Value.TryGetProperty("latency_ms", out var ms) || ms.ValueKind != JsonValueKind.Number || !ms.TryGetInt32(out latency)
                || latency is < 1 or > MaxLatencyMs)
                return Invalid("latency_ms", $"latency_ms is required for the latency mode: milliseconds from 1 to {MaxLatencyMs}.");
        }
        faults.Set(new Fault(mode, latency), symbols);
        return TypedResults.Ok(new ActiveFaults(faults.Active.ToDictionary(f => f.Key,
            f => f.Value.Mode == FaultMode.Latency ? $"latency {f.Value.LatencyMs} ms" : FaultBoard.NameOf(f.Value.Mode))));
    }

    /// <summary>The request body as JSON, or null when it is missing or not JSON.</summary>
    private static async Task<JsonElement?> ReadJsonAsync(HttpRequest request)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ValidationProblem Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });

    private static ProblemHttpResult UnknownSymbol(string symbol) =>
        TypedResults.Problem($"Unknown symbol '{symbol}'.", statusCode: StatusCodes.Status404NotFound, title: "Unknown symbol");
}
