using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace TradingBots.ExchangeSim;

/// <summary>
/// The control API tests and developers drive the simulator with (/sim): pin prices, inject faults, read the
/// request counts, reset. Errors are ProblemDetails naming the field at fault.
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
        sim.MapPost("/faults", PostFaults);
        sim.MapPost("/reset", (MarketSimulator market, FaultBoard faults, UsageMeter usage) =>
        {
            market.ClearPins();
            faults.Clear();
            usage.Clear();
            return TypedResults.NoContent();
        });
        sim.MapGet("/stats", (UsageMeter usage) => TypedResults.Ok(new Stats(usage.Requests)));
        return app;
    }

    public sealed record PinnedPrice(string Symbol, decimal Price);

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
