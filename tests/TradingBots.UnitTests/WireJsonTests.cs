using System.Text;
using System.Text.Json;
using TradingBots.Events;

namespace TradingBots.UnitTests;

public sealed class WireJsonTests
{
    [Fact]
    public void Event_timestamps_are_written_as_the_spec_shows_them()
    {
        var notice = new SystemNotice("Ticker fetch error: <timeout> & more", new DateTimeOffset(2026, 2, 23, 4, 1, 15, TimeSpan.Zero));

        var bytes = JsonSerializer.SerializeToUtf8Bytes(notice, WireJson.Options);

        // Byte for byte: a literal "+", no \u002B, and nothing else escaped that JSON does not require.
        Assert.Equal("""{"message":"Ticker fetch error: <timeout> & more","ts":"2026-02-23T04:01:15+00:00"}""", Encoding.UTF8.GetString(bytes));
    }

    [Theory]
    [InlineData(0, "2026-02-23T04:00:00+00:00")]
    [InlineData(1_234_560, "2026-02-23T04:00:00.123456+00:00")]   // microseconds, PostgreSQL's precision
    [InlineData(1_234_567, "2026-02-23T04:00:00.123456+00:00")]   // below a microsecond is not kept
    [InlineData(10, "2026-02-23T04:00:00.000001+00:00")]
    public void Times_are_utc_with_the_offset_and_microseconds_when_there_are_any(long extraTicks, string expected) =>
        Assert.Equal(expected, WireJson.Format(new DateTimeOffset(2026, 2, 23, 4, 0, 0, TimeSpan.Zero).AddTicks(extraTicks)));

    [Fact]
    public void Times_in_another_offset_are_written_in_utc()
    {
        var istanbul = new DateTimeOffset(2026, 2, 23, 7, 0, 0, TimeSpan.FromHours(3));

        Assert.Equal("2026-02-23T04:00:00+00:00", WireJson.Format(istanbul));
        Assert.Equal(istanbul, JsonSerializer.Deserialize<DateTimeOffset>("\"2026-02-23T04:00:00+00:00\"", WireJson.Options));
    }

    [Theory]
    [InlineData("100100000.000", "100100000")]
    [InlineData("9871.286000", "9871.286")]
    [InlineData("0.000000000001", "0.000000000001")]
    [InlineData("-0.0200", "-0.02")]
    public void Amounts_in_messages_are_in_the_wires_normalized_form(string value, string expected)
    {
        var amount = decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(expected, WireJson.Format(amount));
        Assert.Equal(expected, JsonSerializer.Serialize(amount, WireJson.Options));
    }
}
