using System.ComponentModel.DataAnnotations;

namespace TradingBots.Strategies.Users;

/// <summary>
/// Strategies:Path, the folder of user strategies (one .cs file each, or a folder of them), default strategies/ in the
/// working directory (the AppHost passes the repository's, beside storage/); Strategies:CallBudget and
/// Strategies:MemoryBudgetMiB, what one call into a user strategy may take.
/// </summary>
public sealed class StrategiesOptions
{
    public const string Section = "Strategies";

    [Required]
    public string Path { get; set; } = "strategies";

    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan CallBudget { get; set; } = TimeSpan.FromMilliseconds(250);

    [Range(1, 4096)]
    public int MemoryBudgetMiB { get; set; } = 64;

    public StrategyLimits Limits => new(CallBudget, MemoryBudgetMiB * 1024L * 1024L);
}
