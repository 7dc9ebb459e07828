using static TradingBots.ExchangeSim.BinanceApi;

namespace TradingBots.ExchangeSim;

/// <summary>GET /api/v3/exchangeInfo, field for field as Binance sends it.</summary>
public sealed record ExchangeInfo(
    string Timezone, long ServerTime, IReadOnlyList<RateLimit> RateLimits, IReadOnlyList<object> ExchangeFilters,
    IReadOnlyList<SymbolInfo> Symbols)
{
    public static IReadOnlyList<RateLimit> DefaultRateLimits { get; } =
    [
        new("REQUEST_WEIGHT", "MINUTE", 1, 6_000),
        new("ORDERS", "SECOND", 10, 100),
        new("ORDERS", "DAY", 1, 200_000),
        new("RAW_REQUESTS", "MINUTE", 5, 61_000),
    ];
}

public sealed record RateLimit(string RateLimitType, string Interval, int IntervalNum, int Limit);

public sealed record SymbolInfo(
    string Symbol,
    string Status,
    string BaseAsset,
    int BaseAssetPrecision,
    string QuoteAsset,
    int QuotePrecision,
    int QuoteAssetPrecision,
    int BaseCommissionPrecision,
    int QuoteCommissionPrecision,
    IReadOnlyList<string> OrderTypes,
    bool IcebergAllowed,
    bool OcoAllowed,
    bool OtoAllowed,
    bool QuoteOrderQtyMarketAllowed,
    bool AllowTrailingStop,
    bool CancelReplaceAllowed,
    bool IsSpotTradingAllowed,
    bool IsMarginTradingAllowed,
    IReadOnlyList<object> Filters,
    IReadOnlyList<string> Permissions,
    IReadOnlyList<IReadOnlyList<string>> PermissionSets,
    string DefaultSelfTradePreventionMode,
    IReadOnlyList<string> AllowedSelfTradePreventionModes)
{
    private static readonly string[] OrderTypeNames =
        ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"];

    private static readonly string[] SelfTradePreventionModes = ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"];

    public static SymbolInfo From(SymbolSpec spec)
    {
        // Limits scaled to the price level, as Binance's are: about 100x the price, about 900M quote of quantity.
        var maxPrice = spec.RoundToTick(spec.BasePrice * 100);
        var maxQty = spec.RoundToStep(900_000_000m / spec.BasePrice);
        object[] filters =
        [
            new PriceFilter("PRICE_FILTER", F8(spec.TickSize), F8(maxPrice), F8(spec.TickSize)),
            new LotSizeFilter("LOT_SIZE", F8(spec.StepSize), F8(maxQty), F8(spec.StepSize)),
            new NotionalFilter("NOTIONAL", F8(spec.MinNotional), true, F8(9_000_000m), false, 5),
            new LotSizeFilter("MARKET_LOT_SIZE", F8(0), F8(spec.RoundToStep(maxQty / 10)), F8(0)),
        ];
        return new SymbolInfo(
            spec.Symbol, "TRADING", spec.BaseAsset, 8, spec.QuoteAsset, 8, 8, 8, 8, OrderTypeNames,
            IcebergAllowed: true, OcoAllowed: true, OtoAllowed: true, QuoteOrderQtyMarketAllowed: true,
            AllowTrailingStop: true, CancelReplaceAllowed: true, IsSpotTradingAllowed: true, IsMarginTradingAllowed: false,
            filters, [], [["SPOT"]], "EXPIRE_MAKER", SelfTradePreventionModes);
    }
}

public sealed record PriceFilter(string FilterType, string MinPrice, string MaxPrice, string TickSize);

public sealed record LotSizeFilter(string FilterType, string MinQty, string MaxQty, string StepSize);

public sealed record NotionalFilter(
    string FilterType, string MinNotional, bool ApplyMinToMarket, string MaxNotional, bool ApplyMaxToMarket, int AvgPriceMins);
