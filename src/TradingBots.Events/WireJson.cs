using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TradingBots.Events;

/// <summary>
/// The one JSON format of the APIs and the events: snake_case names, decimals as JSON numbers without trailing zeros
/// (PostgreSQL numeric arithmetic yields 9899.900; the wire says 9899.9, the same exact value), and times as the spec
/// writes them: ISO 8601 in UTC with the offset spelled out, <c>2026-02-23T04:00:00+00:00</c> (microseconds, the
/// precision PostgreSQL stores, only when there are any). Nothing is escaped that JSON does not require (a <c>+</c>
/// stays a <c>+</c>), since these documents are data, never embedded in HTML.
/// </summary>
public static class WireJson
{
    public static JsonSerializerOptions Options { get; } = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        options.Converters.Add(new NormalizedDecimalConverter());
        options.Converters.Add(new TimestampConverter());
        return options;
    }

    // Dividing by 1 written with many zeros leaves a decimal at its smallest scale: 9899.900 → 9899.9.
    private const decimal One = 1.000000000000000000000000000000000m;

    /// <summary>A decimal at its smallest scale (9899.900 → 9899.9), as the wire writes it.</summary>
    public static decimal Normalize(decimal value) => value / One;

    /// <summary>A decimal as text, as the wire writes it (for messages: "costs 100.1", never "100.100000").</summary>
    public static string Format(decimal value) => Normalize(value).ToString(CultureInfo.InvariantCulture);

    /// <summary>A time as the wire writes it.</summary>
    public static string Format(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        return utc.ToString(utc.Ticks % TimeSpan.TicksPerSecond / 10 == 0 ? "yyyy-MM-dd'T'HH:mm:sszzz" : "yyyy-MM-dd'T'HH:mm:ss.ffffffzzz",
            CultureInfo.InvariantCulture);
    }

    private sealed class NormalizedDecimalConverter : JsonConverter<decimal>
    {
        public override decimal Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDecimal();

        public override void Write(Utf8JsonWriter writer, decimal value, JsonSerializerOptions options) => writer.WriteNumberValue(Normalize(value));
    }

    private sealed class TimestampConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDateTimeOffset();

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
        {
            // A tick's hundred thousand events carry one time: formatted once per thread, not once per event.
            if (lastText is null || lastValue != value) (lastValue, lastText) = (value, Format(value));
            writer.WriteStringValue(lastText);
        }

        [ThreadStatic] private static DateTimeOffset lastValue;
        [ThreadStatic] private static string? lastText;
    }
}
