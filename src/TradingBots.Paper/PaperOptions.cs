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

    /// <summary>How the manual account's orders fill: last (the spec's rule), bidask or book (see FillModels).</summary>
    [ConfigurationKeyName("PAPER_FILL_MODEL")]
    [RegularExpression("^(last|bidask|book)$", ErrorMessage = "PAPER_FILL_MODEL must be last, bidask or book")]
    public string FillModel { get; set; } = FillModels.Last;

    /// <summary>Slippage of the manual account's fills, in basis points against the order.</summary>
    [ConfigurationKeyName("PAPER_SLIPPAGE_BPS")]
    [Range(typeof(decimal), "0", "1000")]
    public decimal SlippageBps { get; set; }

    /// <summary>Whether the manual account's orders obey the exchange's filters (LOT_SIZE, NOTIONAL, PRICE_FILTER).</summary>
    [ConfigurationKeyName("PAPER_EXCHANGE_RULES")]
    public bool ExchangeRules { get; set; }

    /// <summary>The manual account's fill terms.</summary>
    public FillTerms ManualTerms => new(FillModel, SlippageBps, ExchangeRules);
}
