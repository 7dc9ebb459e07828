namespace TradingBots.Backtests;

/// <summary>
/// The length of a candle of each Binance interval a backtest can run on: those whose candles open at multiples of their
/// length since the Unix epoch (not 3d, 1w and 1M: weeks open on Mondays, months differ in length).
/// </summary>
public static class Timeframes
{
    private static readonly Dictionary<string, long> Seconds = new(StringComparer.Ordinal)
    {
        ["1s"] = 1, ["1m"] = 60, ["3m"] = 180, ["5m"] = 300, ["15m"] = 900, ["30m"] = 1_800, ["1h"] = 3_600, ["2h"] = 7_200,
        ["4h"] = 14_400, ["6h"] = 21_600, ["8h"] = 28_800, ["12h"] = 43_200, ["1d"] = 86_400,
    };

    public static IReadOnlyCollection<string> All => Seconds.Keys;

    /// <summary>Milliseconds per candle; null for an interval a backtest cannot run on.</summary>
    public static long? Milliseconds(string timeframe) => Seconds.TryGetValue(timeframe, out var s) ? s * 1000 : null;

    /// <summary>Candles of this timeframe in a 365-day year (the annualization of Sharpe and Sortino).</summary>
    public static decimal PerYear(long milliseconds) => 365m * 86_400_000 / milliseconds;
}
