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

public sealed record BinanceSymbol(
    [property: JsonPropertyName("symbol")] string Symbol,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("baseAsset")] string BaseAsset,
    [property: JsonPropertyName("quoteAsset")] string QuoteAsset)
{
    /// <summary>ccxt's unified form, e.g. BTC/USDT.</summary>
    public string Unified => $"{BaseAsset}/{QuoteAsset}";
}

internal sealed record BinanceExchangeInfo([property: JsonPropertyName("symbols")] IReadOnlyList<BinanceSymbol> Symbols);

internal sealed record BinanceError([property: JsonPropertyName("code")] int Code, [property: JsonPropertyName("msg")] string Msg);

[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(BinanceTicker24h))]
[JsonSerializable(typeof(List<BinanceTicker24h>))]
[JsonSerializable(typeof(BinanceExchangeInfo))]
[JsonSerializable(typeof(BinanceError))]
[JsonSerializable(typeof(List<List<System.Text.Json.JsonElement>>))]
internal sealed partial class BinanceJson : JsonSerializerContext;
