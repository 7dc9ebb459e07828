using System.Buffers;
using System.Collections.Immutable;

namespace TradingBots.ExchangeSim;

/// <summary>A price fixed through the control API from <see cref="Second"/> on (until the next pin or a reset).</summary>
public readonly record struct Pin(long Second, decimal Price);

/// <summary>One candle; times in Unix milliseconds as Binance sends them.</summary>
public sealed record Candle(
    long OpenTime,
    decimal Open,
    decimal High,
    decimal Low,
    decimal Close,
    decimal Volume,
    long CloseTime,
    decimal QuoteVolume,
    long Trades,
    decimal TakerBuyBaseVolume,
    decimal TakerBuyQuoteVolume);

/// <summary>
/// The price path clients see: the walk, replaced from each pin's second on by the pinned price.
/// </summary>
public sealed class PricePath(PriceWalk walk, ImmutableArray<Pin> pins)
{
    /// <summary>At most this many samples of the path go into one candle's high and low.</summary>
    private const int SamplesPerCandle = 64;

    private readonly long _firstPin = pins.IsEmpty ? long.MaxValue : pins[0].Second;

    public PriceWalk Walk => walk;

    public decimal At(long second) => PinIndexAt(second) is var i and >= 0 ? pins[i].Price : walk.PriceAt(second);

    /// <summary>
    /// The candles between consecutive <paramref name="bounds"/> (Unix seconds). The candle holding
    /// <paramref name="now"/> is still open: it closes at the current price.
    /// Open and close are the path at the bounds, so each candle opens at the previous close. High and low are
    /// taken from the path sampled on a power-of-two grid fine enough for <see cref="SamplesPerCandle"/> samples
    /// (every second for candles up to a minute), plus the open, the close and any pinned price in between.
    /// </summary>
    public Candle[] Candles(ReadOnlySpan<long> bounds, long now)
    {
        var count = bounds.Length - 1;
        long longest = 1;
        for (var i = 0; i < count; i++) longest = Math.Max(longest, bounds[i + 1] - bounds[i]);
        var level = 0;
        while ((long)SamplesPerCandle << level < longest) level++;

        var first = CeilTo(bounds[0], 1L << level);
        var length = Math.Max(0, (int)((FloorTo(Math.Min(bounds[count], now), 1L << level) - first) >> level) + 1);
        var rented = ArrayPool<long>.Shared.Rent(length);
        try
        {
            var samples = new Samples(rented.AsSpan(0, length), first, level);
            walk.Deviations(first, level, rented.AsSpan(0, length));

            // Each bound closes one candle and opens the next: price it and its traded volume once.
            var prices = new decimal[bounds.Length];
            var traded = new Int128[bounds.Length];
            for (var i = 0; i <= count; i++)
            {
                var second = Math.Min(bounds[i], now);
                prices[i] = PinIndexAt(second) is var p and >= 0 ? pins[p].Price
                    : walk.PriceOf(samples.TryGet(second, out var deviation) ? deviation : walk.Deviation(second));
                traded[i] = walk.TradedBefore(second);
            }

            var candles = new Candle[count];
            for (var i = 0; i < count; i++)
                candles[i] = Candle(bounds[i], bounds[i + 1], now, prices[i], prices[i + 1], traded[i], traded[i + 1], samples);
            return candles;
        }
        finally
        {
            ArrayPool<long>.Shared.Return(rented);
        }
    }

    private Candle Candle(
        long start, long nominalEnd, long now, decimal open, decimal close, Int128 tradedBefore, Int128 tradedAfter, Samples samples)
    {
        var end = Math.Min(nominalEnd, now);
        var (high, low) = (Math.Max(open, close), Math.Min(open, close));

        // Walk samples before the first pin: compare deviations, price only the two extremes (rounding is monotonic).
        var walked = samples.Between(start, Math.Min(end, _firstPin - 1));
        if (!walked.IsEmpty)
        {
            high = Math.Max(high, walk.PriceOf(Max(walked)));
            low = Math.Min(low, walk.PriceOf(Min(walked)));
        }

        // Every pin in force at some second of the candle.
        for (var p = Math.Max(0, PinIndexAt(start)); p < pins.Length && pins[p].Second <= end; p++)
        {
            high = Math.Max(high, pins[p].Price);
            low = Math.Min(low, pins[p].Price);
        }

        var volume = (decimal)(long)(tradedAfter - tradedBefore) / PriceWalk.VolumeUnits;
        var typical = (open + high + low + close) / 4;
        // Takers lean to the side the candle moved.
        var takerShare = high == low ? 0.5m : 0.5m + 0.1m * (close - open) / (high - low);
        var takerBase = Math.Round(volume * takerShare, 8);
        return new Candle(
            start * 1000, open, high, low, close, volume, nominalEnd * 1000 - 1,
            Math.Round(volume * typical, 8), walk.TradeIdAt(tradedAfter) - walk.TradeIdAt(tradedBefore),
            takerBase, Math.Round(takerBase * typical, 8));
    }

    /// <summary>The walk's deviations at first, first + 2^level, ...</summary>
    private readonly ref struct Samples(ReadOnlySpan<long> deviations, long first, int level)
    {
        private readonly ReadOnlySpan<long> _deviations = deviations;

        public bool TryGet(long second, out long deviation)
        {
            var offset = second - first;
            var index = offset >> level;
            var found = offset >= 0 && index << level == offset && index < _deviations.Length;
            deviation = found ? _deviations[(int)index] : 0;
            return found;
        }

        /// <summary>The samples in [from, to].</summary>
        public ReadOnlySpan<long> Between(long from, long to)
        {
            var a = Math.Max(0, (CeilTo(from, 1L << level) - first) >> level);
            var b = Math.Min(_deviations.Length - 1, (FloorTo(to, 1L << level) - first) >> level);
            return a <= b ? _deviations[(int)a..(int)(b + 1)] : [];
        }
    }

    /// <summary>Index of the pin in force at a second, or -1 where the walk is.</summary>
    private int PinIndexAt(long second)
    {
        if (second < _firstPin) return -1;
        var i = pins.Length - 1;
        while (pins[i].Second > second) i--;
        return i;
    }

    private static long Max(ReadOnlySpan<long> values)
    {
        var max = long.MinValue;
        foreach (var v in values) max = Math.Max(max, v);
        return max;
    }

    private static long Min(ReadOnlySpan<long> values)
    {
        var min = long.MaxValue;
        foreach (var v in values) min = Math.Min(min, v);
        return min;
    }

    private static long FloorTo(long value, long stride) => value - ((value % stride) + stride) % stride;

    private static long CeilTo(long value, long stride) => -FloorTo(-value, stride);
}
