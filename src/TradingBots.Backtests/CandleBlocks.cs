using TradingBots.Strategies;

namespace TradingBots.Backtests;

/// <summary>
/// The compact copy of stored candles a read is served from once it has read them all (the <c>candle_blocks</c> table):
/// <see cref="Size"/> candles of a timeframe in a row, the first opening at a multiple of <see cref="Size"/> candles since
/// the epoch, every one of them there (their open times are then implied). Each candle is its open, high, low, close and
/// volume, each decimal exactly as read (scale and sign included): a byte of scale (and 0x80 when negative), then its
/// 96-bit integer in 7-bit groups, lowest first. A year of 1m prices of five or six digits takes about 25 bytes a candle.
/// </summary>
public static class CandleBlocks
{
    public const int Size = 4096;
    private const byte Version = 1, Negative = 0x80;

    /// <summary>Where the block holding <paramref name="openTime"/> starts.</summary>
    public static long Start(long openTime, long step)
    {
        var span = step * Size;
        var blocks = openTime / span;
        return (openTime % span < 0 ? blocks - 1 : blocks) * span;
    }

    public static byte[] Encode(ReadOnlySpan<Candle> candles)
    {
        if (candles.Length != Size) throw new ArgumentException($"a block is {Size} candles, not {candles.Length}", nameof(candles));
        // At most 15 bytes a decimal: its head and 14 groups of 7 bits (96 bits).
        var data = new byte[1 + Size * 5 * 15];
        var n = 0;
        data[n++] = Version;
        foreach (var c in candles)
        {
            n += Write(c.Open, data.AsSpan(n));
            n += Write(c.High, data.AsSpan(n));
            n += Write(c.Low, data.AsSpan(n));
            n += Write(c.Close, data.AsSpan(n));
            n += Write(c.Volume, data.AsSpan(n));
        }
        return data[..n];
    }

    /// <summary>The block's candles, opening at <paramref name="first"/>, then every <paramref name="step"/>, into <paramref name="into"/>.</summary>
    public static void Decode(ReadOnlySpan<byte> data, long first, long step, List<Candle> into)
    {
        if (data.IsEmpty || data[0] != Version) throw new InvalidDataException($"a candle block of version {(data.IsEmpty ? "none" : data[0])}; this reads {Version}");
        var n = 1;
        try
        {
            for (var i = 0; i < Size; i++)
                into.Add(new Candle(first + i * step, Read(data, ref n), Read(data, ref n), Read(data, ref n), Read(data, ref n), Read(data, ref n)));
        }
        catch (IndexOutOfRangeException)
        {
            throw new InvalidDataException($"a candle block of {data.Length} bytes ends before its {Size} candles");
        }
        if (n != data.Length) throw new InvalidDataException($"a candle block of {data.Length} bytes holds {n} bytes of {Size} candles");
    }

    private static int Write(decimal value, Span<byte> into)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        into[0] = (byte)(((bits[3] >> 16) & 0xFF) | (bits[3] < 0 ? Negative : 0));
        var n = 1;
        var low = (ulong)(uint)bits[1] << 32 | (uint)bits[0];
        var high = (uint)bits[2];
        // 7 bits at a time, lowest first, the top bit saying more follow.
        var rest = (UInt128)high << 64 | low;
        while (rest >= 0x80)
        {
            into[n++] = (byte)((byte)rest | 0x80);
            rest >>= 7;
        }
        into[n++] = (byte)rest;
        return n;
    }

    private static decimal Read(ReadOnlySpan<byte> data, ref int n)
    {
        var head = data[n++];
        var (low, high, shift) = (0UL, 0U, 0);
        while (true)
        {
            var b = data[n++];
            var group = (ulong)(b & 0x7F);
            if (shift < 64)
            {
                low |= group << shift;
                if (shift > 57) high |= (uint)(group >> (64 - shift));
            }
            else high |= (uint)(group << (shift - 64));
            if (b < 0x80) break;
            shift += 7;
        }
        return new decimal((int)(uint)low, (int)(uint)(low >> 32), (int)high, (head & Negative) != 0, (byte)(head & 0x7F));
    }
}
