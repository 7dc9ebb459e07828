using System.Text.Json.Serialization;

namespace TradingBots.Binance;

// Binance's JSON, as documented for the Spot public REST API. Prices and quantities arrive as strings
// ("100000.00000000") and are parsed as decimal, never double.

public sealed record BinanceTicker24h(
    [property: JsonPropertyName("symbol")] string Symbol,
    [property: JsonPropertyName("priceChange")] decimal PriceChange,
    [property: JsonPropertyName("priceChangePercent")] decimal PriceChangePercent,
    [property: JsonPropertyName("weightedAvgPrice")] decimal WeightedAvgPrice,
    [property: JsonPropertyName("prevClosePrice")] decimal PrevClosePrice,
    [property: JsonPropertyName("lastPrice")] decimal LastPrice,
    [property: JsonPropertyName("bidPrice")] decimal BidPrice,
    [property: JsonPropertyName("bidQty")] decimal BidQty,
    [property: JsonPropertyName("askPrice")] decimal AskPrice,
    [property: JsonPropertyName("askQty")] decimal AskQty,
    [property: JsonPropertyName("openPrice")] decimal OpenPrice,
    [property: JsonPropertyName("highPrice")] decimal HighPrice,
    [property: JsonPropertyName("lowPrice")] decimal LowPrice,
    [property: JsonPropertyName("volume")] decimal Volume,
    [property: JsonPropertyName("quoteVolume")] decimal QuoteVolume,
    [property: JsonPropertyName("openTime")] long OpenTime,
    [property: JsonPropertyName("closeTime")] long CloseTime);

/// <summary>One kline: open time (ms) and OHLCV.</summary>
public sealed record Candle(long OpenTime, decimal Open, decimal High, decimal Low, decimal Close, decimal Volume);

/// <summary>One price level of an order book: the price and the quantity resting there.</summary>
public readonly record struct BookLevel(decimal Price, decimal Qty);

/// <summary>
/// GET /api/v3/depth: a snapshot of the book, bids best (highest) first, asks best (lowest) first.
/// <see cref="LastUpdateId"/> orders snapshots (and diff-depth events) of one symbol.
/// </summary>
public sealed record BinanceOrderBook(long LastUpdateId, IReadOnlyList<BookLevel> Bids, IReadOnlyList<BookLevel> Asks);

/// <summary>A symbol of /api/v3/exchangeInfo: its assets, status and trading rules.</summary>
public sealed record BinanceSymbol(
    [property: JsonPropertyName("symbol")] string Symbol,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("baseAsset")] string BaseAsset,
    [property: JsonPropertyName("quoteAsset")] string QuoteAsset)
{
    /// <summary>ccxt's unified form, e.g. BTC/USDT.</summary>
    public string Unified => $"{BaseAsset}/{QuoteAsset}";

    private readonly SymbolFilters _filters = SymbolFilters.None;

    /// <summary>The trading rules from the symbol's <c>filters</c> (every value null when it has none).</summary>
    [JsonPropertyName("filters"), JsonConverter(typeof(SymbolFiltersJsonConverter))]
    public SymbolFilters Filters
    {
        get => _filters;
        // The serializer sets null when the symbol has no filters array.
        init => _filters = value ?? SymbolFilters.None;
    }
}

internal sealed record BinanceExchangeInfo([property: JsonPropertyName("symbols")] IReadOnlyList<BinanceSymbol> Symbols);

/// <summary>GET /api/v3/depth as sent: levels are [price, qty] pairs of decimal strings.</summary>
internal sealed record BinanceDepth(
    [property: JsonPropertyName("lastUpdateId")] long? LastUpdateId,
    [property: JsonPropertyName("bids")] List<List<System.Text.Json.JsonElement>?>? Bids,
    [property: JsonPropertyName("asks")] List<List<System.Text.Json.JsonElement>?>? Asks);

/// <summary>
/// One element of a symbol's <c>filters</c>, with the fields of the filters we read (PRICE_FILTER, LOT_SIZE,
/// MARKET_LOT_SIZE, NOTIONAL, MIN_NOTIONAL); the fields of other filter types are ignored.
/// </summary>
internal sealed record BinanceFilter(
    [property: JsonPropertyName("filterType")] string? FilterType,
    [property: JsonPropertyName("minPrice")] decimal? MinPrice,
    [property: JsonPropertyName("maxPrice")] decimal? MaxPrice,
    [property: JsonPropertyName("tickSize")] decimal? TickSize,
    [property: JsonPropertyName("minQty")] decimal? MinQty,
    [property: JsonPropertyName("maxQty")] decimal? MaxQty,
    [property: JsonPropertyName("stepSize")] decimal? StepSize,
    [property: JsonPropertyName("minNotional")] decimal? MinNotional,
    [property: JsonPropertyName("applyMinToMarket")] bool? ApplyMinToMarket,
    [property: JsonPropertyName("maxNotional")] decimal? MaxNotional,
    [property: JsonPropertyName("applyMaxToMarket")] bool? ApplyMaxToMarket,
    [property: JsonPropertyName("applyToMarket")] bool? ApplyToMarket);

internal sealed record BinanceError([property: JsonPropertyName("code")] int Code, [property: JsonPropertyName("msg")] string Msg);

[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(BinanceTicker24h))]
[JsonSerializable(typeof(List<BinanceTicker24h>))]
[JsonSerializable(typeof(BinanceExchangeInfo))]
[JsonSerializable(typeof(BinanceError))]
[JsonSerializable(typeof(List<List<System.Text.Json.JsonElement>>))]
[JsonSerializable(typeof(BinanceDepth))]
[JsonSerializable(typeof(List<BinanceFilter>))]
internal sealed partial class BinanceJson : JsonSerializerContext;
