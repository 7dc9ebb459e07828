using System.Globalization;
using System.Text;
using TradingBots.Strategies;

namespace TradingBots.Backtests;

/// <summary>
/// equity.csv: one row per point (the start, then each close), with the drawdown below the peak so far as a share of it
/// (12 places, half to even, as the run metrics round; their max drawdown is the largest). Half a million rows for a year
/// of 1m candles, so each row is formatted straight into UTF-8 bytes: a day's date once, a value that did not move since
/// the row before (the cash, a flat equity and its drawdown) copied from it, and 64 KiB written at a time.
/// </summary>
internal static class EquityCsv
{
    private const long Day = 86_400_000;
    private const int RowMax = 128, BlockSize = 1 << 16;

    public static async Task WriteAsync(string path, IReadOnlyList<EquityPoint> equity, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0, useAsync: true);
        var block = new byte[BlockSize];
        var n = Encoding.ASCII.GetBytes("time,equity,cash,drawdown\r\n", block);
        var rows = new Rows();
        foreach (var point in equity)
        {
            if (n > BlockSize - RowMax)
            {
                await file.WriteAsync(block.AsMemory(0, n), cancellationToken);
                n = 0;
            }
            n += rows.Format(point, block.AsSpan(n));
        }
        await file.WriteAsync(block.AsMemory(0, n), cancellationToken);
    }

    /// <summary>The rows in order: what the row before them wrote is kept, to be copied where it did not change.</summary>
    private sealed class Rows
    {
        private long day = long.MinValue;
        private decimal peak = decimal.MinValue;
        private readonly Field date = new(), equity = new(), cash = new(), drawdown = new();

        /// <summary>The point's row into <paramref name="into"/> (at least <see cref="RowMax"/> bytes); its length.</summary>
        public int Format(EquityPoint point, Span<byte> into)
        {
            var rest = point.Time % Day;
            if (rest < 0) rest += Day;
            if (point.Time - rest != day)
            {
                day = point.Time - rest;
                date.Length = DateTimeOffset.FromUnixTimeMilliseconds(day).UtcDateTime.TryFormat(date.Bytes, out var written, "yyyy-MM-dd'T'",
                    CultureInfo.InvariantCulture) ? written : throw new InvalidOperationException("date buffer too small");
            }
            var n = date.CopyTo(into);
            var seconds = (int)(rest / 1000);
            n += TwoDigits(seconds / 3600, into[n..]);
            into[n++] = (byte)':';
            n += TwoDigits(seconds / 60 % 60, into[n..]);
            into[n++] = (byte)':';
            n += TwoDigits(seconds % 60, into[n..]);
            into[n++] = (byte)'Z';
            into[n++] = (byte)',';

            // Recomputed only when the equity moved: a flat stretch (no position) keeps its drawdown.
            if (equity.Set(point.Equity))
            {
                var value = point.Equity >= peak ? 0m
                    : peak <= 0 ? 0m : Math.Round((peak - point.Equity) / peak, RunMetrics.Scale, MidpointRounding.ToEven);
                if (point.Equity >= peak) peak = point.Equity;
                drawdown.Set(value);
            }
            n += equity.CopyTo(into[n..]);
            into[n++] = (byte)',';
            cash.Set(point.Cash);
            n += cash.CopyTo(into[n..]);
            into[n++] = (byte)',';
            n += drawdown.CopyTo(into[n..]);
            into[n++] = (byte)'\r';
            into[n++] = (byte)'\n';
            return n;
        }

        private static int TwoDigits(int value, Span<byte> into)
        {
            into[0] = (byte)('0' + value / 10);
            into[1] = (byte)('0' + value % 10);
            return 2;
        }
    }

    /// <summary>A field's bytes as last formatted.</summary>
    private sealed class Field
    {
        public readonly byte[] Bytes = new byte[32];
        public int Length;
        private decimal value;
        private bool set;

        /// <summary>Formats <paramref name="next"/> at its smallest scale (as <see cref="TradingBots.Events.WireJson.Format(decimal)"/> writes it) unless it is the value held; whether it changed.</summary>
        public bool Set(decimal next)
        {
            if (set && next == value) return false;
            (value, set) = (next, true);
            if (!next.TryFormat(Bytes, out var n, default, CultureInfo.InvariantCulture)) throw new InvalidOperationException("amount buffer too small");
            if (Bytes.AsSpan(0, n).Contains((byte)'.'))
            {
                while (Bytes[n - 1] == '0') n--;
                if (Bytes[n - 1] == '.') n--;
            }
            Length = n;
            return true;
        }

        public int CopyTo(Span<byte> into)
        {
            Bytes.AsSpan(0, Length).CopyTo(into);
            return Length;
        }
    }
}
