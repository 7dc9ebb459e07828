using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;

namespace TradingBots.Paper;

/// <summary>The spec's environment settings PAPER_FEE_RATE and PAPER_STARTING_CASH, and the manual account's currency.</summary>
public sealed class PaperOptions
{
    [ConfigurationKeyName("PAPER_FEE_RATE")]
    [Range(typeof(decimal), "0", "0.999999")]
    public decimal FeeRate { get; set; } = 0.001m;

    [ConfigurationKeyName("PAPER_STARTING_CASH")]
    [Range(typeof(decimal), "0.00000001", "1000000000000")]
    public decimal StartingCash { get; set; } = 10000m;

    /// <summary>The currency the manual account holds (fixed when it first trades, like its starting cash).</summary>
    [ConfigurationKeyName("PAPER_QUOTE_CURRENCY")]
    [RegularExpression("^[A-Z0-9]{1,20}$", ErrorMessage = "PAPER_QUOTE_CURRENCY must be an asset code such as USDT")]
    public string QuoteCurrency { get; set; } = "USDT";
}
