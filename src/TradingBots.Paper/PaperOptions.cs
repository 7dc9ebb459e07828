using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;

namespace TradingBots.Paper;

/// <summary>The spec's environment settings PAPER_FEE_RATE and PAPER_STARTING_CASH.</summary>
public sealed class PaperOptions
{
    [ConfigurationKeyName("PAPER_FEE_RATE")]
    [Range(typeof(decimal), "0", "0.999999")]
    public decimal FeeRate { get; set; } = 0.001m;

    [ConfigurationKeyName("PAPER_STARTING_CASH")]
    [Range(typeof(decimal), "0.00000001", "1000000000000")]
    public decimal StartingCash { get; set; } = 10000m;
}
