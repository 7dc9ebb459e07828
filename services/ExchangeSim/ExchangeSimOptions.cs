using System.ComponentModel.DataAnnotations;

namespace TradingBots.ExchangeSim;

public sealed class ExchangeSimOptions
{
    public const string Section = "ExchangeSim";

    /// <summary>Seeds every symbol's walk: the same seed gives the same price at the same time.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>The Retry-After the ratelimit429 fault sends.</summary>
    [Range(0, 3_600)]
    public int RetryAfterSeconds { get; set; } = 2;

    /// <summary>How long the timeout fault holds a response (unless the client gives up first).</summary>
    [Range(0, 3_600)]
    public int TimeoutFaultSeconds { get; set; } = 30;
}
