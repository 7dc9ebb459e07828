namespace TradingBots.ExchangeSim;

/// <summary>
/// One simulated spot market: its exchange rules (as /api/v3/exchangeInfo shows them) and the parameters of its walk.
/// </summary>
/// <param name="BasePrice">The level the walk wanders around.</param>
/// <param name="DailyVolatility">Standard deviation of the relative price move over one day (0.02 = 2 %).</param>
/// <param name="DailyVolume">Base-asset volume traded per day.</param>
/// <param name="TradeSize">Average base quantity of one trade; turns volume into trade counts and ids.</param>
public sealed record SymbolSpec(
    string Symbol,
    string BaseAsset,
    string QuoteAsset,
    decimal BasePrice,
    decimal TickSize,
    decimal StepSize,
    decimal MinNotional,
    decimal DailyVolatility,
    decimal DailyVolume,
    decimal TradeSize)
{
    /// <summary>Rounds to the symbol's tick size, the only prices the exchange quotes.</summary>
    public decimal RoundToTick(decimal price) => Math.Round(price / TickSize, MidpointRounding.AwayFromZero) * TickSize;

    /// <summary>Rounds down to the symbol's lot step.</summary>
    public decimal RoundToStep(decimal quantity) => Math.Floor(quantity / StepSize) * StepSize;

    /// <summary>
    /// The quantity of the synthetic order book's best levels: one average trade, on the lot step (at least one step).
    /// Level n on either side holds n of these.
    /// </summary>
    public decimal BookLot => Math.Max(StepSize, RoundToStep(TradeSize));
}

public static class SymbolCatalog
{
    public static IReadOnlyList<SymbolSpec> All { get; } =
    [
        new("BTCUSDT", "BTC", "USDT", 100_000m, 0.01m, 0.00001m, 5m, 0.020m, 20_000m, 0.01m),
        new("ETHUSDT", "ETH", "USDT", 3_500m, 0.01m, 0.0001m, 5m, 0.025m, 400_000m, 0.2m),
        new("SOLUSDT", "SOL", "USDT", 150m, 0.01m, 0.001m, 5m, 0.035m, 3_000_000m, 5m),
        new("BNBUSDT", "BNB", "USDT", 600m, 0.01m, 0.001m, 5m, 0.020m, 300_000m, 1m),
        new("XRPUSDT", "XRP", "USDT", 2.2m, 0.0001m, 0.1m, 5m, 0.030m, 200_000_000m, 500m),
        new("ETHBTC", "ETH", "BTC", 0.035m, 0.00001m, 0.0001m, 0.0001m, 0.015m, 50_000m, 0.5m),
    ];

    private static readonly Dictionary<string, SymbolSpec> BySymbol = All.ToDictionary(s => s.Symbol, StringComparer.Ordinal);

    /// <summary>Exact, case-sensitive lookup: Binance symbols are upper case.</summary>
    public static SymbolSpec? Find(string symbol) => BySymbol.GetValueOrDefault(symbol);
}
