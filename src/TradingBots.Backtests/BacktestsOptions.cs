using System.ComponentModel.DataAnnotations;

namespace TradingBots.Backtests;

/// <summary>The bounds of backtests (<c>Backtests__*</c>): how many one Worker runs at once, and how large one may be.</summary>
public sealed class BacktestsOptions
{
    public const string Section = "Backtests";

    /// <summary>Backtests one Worker runs at once (the others wait in the jobs table, queued).</summary>
    [Range(1, 64)]
    public int Concurrency { get; set; } = 1;

    /// <summary>Candles one backtest may judge at most, over all its symbols (symbols × candles of the range); more is a 400.</summary>
    [Range(1, 100_000_000)]
    public long MaxCandles { get; set; } = 2_000_000;

    /// <summary>How often a running backtest's Worker writes its heartbeat, whatever the run is doing.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan HeartbeatEvery { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A running backtest whose heartbeat is this old lost its Worker: another one takes it over (several heartbeats).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromSeconds(30);
}
