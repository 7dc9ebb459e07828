namespace TradingBots.ExchangeSim;

/// <summary>
/// A Binance kline interval and where its candles start: fixed lengths are counted from the Unix epoch, weeks start
/// on Monday 00:00 UTC and months on the 1st, as on Binance.
/// </summary>
public sealed class KlineInterval
{
    private const long Day = 86_400;

    // 1970-01-01 was a Thursday; the first Monday is four days later.
    private const long FirstMonday = 4 * Day;

    private readonly long _seconds;
    private readonly long _offset;

    private KlineInterval(string name, long seconds, long offset = 0) => (Name, _seconds, _offset) = (name, seconds, offset);

    public string Name { get; }

    private bool IsMonth => _seconds == 0;

    public static IReadOnlyList<KlineInterval> All { get; } =
    [
        new("1s", 1), new("1m", 60), new("3m", 180), new("5m", 300), new("15m", 900), new("30m", 1_800),
        new("1h", 3_600), new("2h", 7_200), new("4h", 14_400), new("6h", 21_600), new("8h", 28_800), new("12h", 43_200),
        new("1d", Day), new("3d", 3 * Day), new("1w", 7 * Day, FirstMonday), new("1M", 0),
    ];

    /// <summary>Case-sensitive, as on Binance: "1m" is a minute and "1M" a month.</summary>
    public static KlineInterval? Find(string? name) => All.FirstOrDefault(i => i.Name == name);

    /// <summary>Open time (Unix seconds) of the candle holding a second.</summary>
    public long Floor(long second)
    {
        if (!IsMonth) return second - Mod(second - _offset, _seconds);
        var date = DateTimeOffset.FromUnixTimeSeconds(second);
        return new DateTimeOffset(date.Year, date.Month, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
    }

    /// <summary>Open time of the candle after the one opening at <paramref name="open"/>.</summary>
    public long Next(long open) => Step(open, 1);

    /// <summary>Open time of the candle before the one opening at <paramref name="open"/>.</summary>
    public long Previous(long open) => Step(open, -1);

    private long Step(long open, int candles) => IsMonth
        ? DateTimeOffset.FromUnixTimeSeconds(open).AddMonths(candles).ToUnixTimeSeconds()
        : open + candles * _seconds;

    private static long Mod(long a, long b) => (a % b + b) % b;
}
