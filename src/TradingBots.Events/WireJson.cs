using System.Text.Json;
using System.Text.Json.Serialization;

namespace TradingBots.Events;

/// <summary>
/// The one JSON format of the APIs and the events: snake_case names, decimals as JSON numbers without trailing zeros
/// (PostgreSQL numeric arithmetic yields 9899.900; the wire says 9899.9, the same exact value).
/// </summary>
public static class WireJson
{
    public static JsonSerializerOptions Options { get; } = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.Converters.Add(new NormalizedDecimalConverter());
        return options;
    }

    private sealed class NormalizedDecimalConverter : JsonConverter<decimal>
    {
        // Dividing by 1 written with many zeros leaves a decimal at its smallest scale: 9899.900 → 9899.9.
        private const decimal One = 1.000000000000000000000000000000000m;

        public override decimal Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDecimal();

        public override void Write(Utf8JsonWriter writer, decimal value, JsonSerializerOptions options) => writer.WriteNumberValue(value / One);
    }
}
