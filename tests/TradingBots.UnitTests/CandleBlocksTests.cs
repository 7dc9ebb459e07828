using TradingBots.Backtests;
using TradingBots.Strategies;

namespace TradingBots.UnitTests;

/// <summary>The compact blocks of stored candles: every decimal comes back exactly as it went in (value, scale and sign).</summary>
public sealed class CandleBlocksTests
{
    private const long Minute = 60_000;

    private static string Exact(Candle c) => string.Join(' ', new[] { c.Open, c.High, c.Low, c.Close, c.Volume }
        .Select(d => string.Join(',', decimal.GetBits(d)))) + $" @{c.OpenTime}";

    [Fact]
    public void A_block_gives_back_each_candle_exactly_with_its_open_time_implied()
    {
        decimal[] values = [0m, 0.00m, -0.0m, 1m, 107022.44m, 107022.4400m, -3.5m, 0.000000000001m, decimal.MaxValue, decimal.MinValue,
            79228162514264.337593543950335m, 18446744073709551616m, 9223372036854775808m, 12.3456m];
        var first = 10 * CandleBlocks.Size * Minute;
        var candles = Enumerable.Range(0, CandleBlocks.Size).Select(i => new Candle(first + i * Minute, values[i % values.Length],
            values[(i + 1) % values.Length], values[(i + 3) % values.Length], values[(i + 5) % values.Length], values[(i + 7) % values.Length])).ToArray();

        var data = CandleBlocks.Encode(candles);
        var back = new List<Candle>();
        CandleBlocks.Decode(data, first, Minute, back);

        Assert.Equal(candles.Select(Exact), back.Select(Exact));
        // The largest take 15 bytes each (a head and 14 groups of 7 bits).
        var largest = Enumerable.Repeat(new Candle(0, decimal.MaxValue, decimal.MinValue, decimal.MaxValue, decimal.MinValue, decimal.MaxValue), CandleBlocks.Size).ToArray();
        var full = CandleBlocks.Encode(largest);
        Assert.Equal(1 + CandleBlocks.Size * 5 * 15, full.Length);
        var decoded = new List<Candle>();
        CandleBlocks.Decode(full, 0, Minute, decoded);
        Assert.Equal(largest.Select((c, i) => Exact(c with { OpenTime = i * Minute })), decoded.Select(Exact));
        // Small prices take few bytes: 0 is 2 (scale, one group), 107022.44 is 5 (10702244 < 2^28).
        var small = Enumerable.Repeat(new Candle(0, 107022.44m, 0m, 0m, 0m, 0m), CandleBlocks.Size).ToArray();
        Assert.Equal(1 + CandleBlocks.Size * (5 + 4 * 2), CandleBlocks.Encode(small).Length);
    }

    [Fact]
    public void A_block_starts_at_a_multiple_of_its_size_in_candles_since_the_epoch_before_it_too()
    {
        var span = CandleBlocks.Size * Minute;
        Assert.Equal((0L, 0L, span, span, -span, -span), (CandleBlocks.Start(0, Minute), CandleBlocks.Start(span - Minute, Minute),
            CandleBlocks.Start(span, Minute), CandleBlocks.Start(span + 59 * Minute, Minute), CandleBlocks.Start(-Minute, Minute), CandleBlocks.Start(-span, Minute)));
    }

    [Fact]
    public void Only_a_whole_block_is_written_and_a_damaged_one_is_refused()
    {
        Assert.Throws<ArgumentException>(() => CandleBlocks.Encode(new Candle[CandleBlocks.Size - 1]));
        var data = CandleBlocks.Encode(Enumerable.Repeat(new Candle(0, 1m, 1m, 1m, 1m, 1m), CandleBlocks.Size).ToArray());
        Assert.Throws<InvalidDataException>(() => CandleBlocks.Decode(data.AsSpan(0, data.Length - 1), 0, Minute, []));
        Assert.Throws<InvalidDataException>(() => CandleBlocks.Decode([.. data, 0], 0, Minute, []));
        Assert.Throws<InvalidDataException>(() => CandleBlocks.Decode([2, .. data[1..]], 0, Minute, []));
    }
}
