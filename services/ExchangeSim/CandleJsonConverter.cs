using System.Text.Json;
using System.Text.Json.Serialization;
using static TradingBots.ExchangeSim.BinanceApi;

namespace TradingBots.ExchangeSim;

/// <summary>
/// Writes a candle as Binance's kline array: [openTime, "open", "high", "low", "close", "volume", closeTime,
/// "quoteAssetVolume", trades, "takerBuyBaseVolume", "takerBuyQuoteVolume", "0"].
/// </summary>
public sealed class CandleJsonConverter : JsonConverter<Candle>
{
    public override Candle Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("Klines are only written.");

    public override void Write(Utf8JsonWriter writer, Candle candle, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(candle.OpenTime);
        writer.WriteStringValue(F8(candle.Open));
        writer.WriteStringValue(F8(candle.High));
        writer.WriteStringValue(F8(candle.Low));
        writer.WriteStringValue(F8(candle.Close));
        writer.WriteStringValue(F8(candle.Volume));
        writer.WriteNumberValue(candle.CloseTime);
        writer.WriteStringValue(F8(candle.QuoteVolume));
        writer.WriteNumberValue(candle.Trades);
        writer.WriteStringValue(F8(candle.TakerBuyBaseVolume));
        writer.WriteStringValue(F8(candle.TakerBuyQuoteVolume));
        // Binance's unused last field.
        writer.WriteStringValue("0");
        writer.WriteEndArray();
    }
}
