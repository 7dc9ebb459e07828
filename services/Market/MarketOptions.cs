using System.ComponentModel.DataAnnotations;

namespace TradingBots.Market;

public sealed class MarketOptions
{
    public const string Section = "Market";

    /// <summary>How long a ticker is served from memory; within one window, one upstream call serves everyone.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan TickerCacheWindow { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>At most one system.notice per kind of upstream failure within this interval.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan NoticeInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Symbols asked for in one request at most (Binance's 24 h ticker weighs 2 up to 20 symbols).</summary>
    [Range(1, 100)]
    public int MaxSymbols { get; set; } = 20;
}
