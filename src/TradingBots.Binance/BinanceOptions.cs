using System.ComponentModel.DataAnnotations;

namespace TradingBots.Binance;

public sealed class BinanceOptions
{
    public const string Section = "Binance";

    /// <summary>Binance's public REST API, or the bundled ExchangeSim (the AppHost sets it).</summary>
    [Required, Url]
    public string BaseUrl { get; set; } = "https://api.binance.com";

    /// <summary>Per request; a slow exchange must not hold a bot loop or an API request for long.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long the symbol list from /api/v3/exchangeInfo (weight 20) is trusted before it is reloaded.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan SymbolsRefresh { get; set; } = TimeSpan.FromHours(1);
}
