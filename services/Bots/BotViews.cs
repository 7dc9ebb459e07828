using System.Text.Json;
using TradingBots.Data;
using TradingBots.Strategies;
using TradingBots.Strategies.Users;

namespace TradingBots.Bots;

/// <summary>A bot as the API shows it: the spec's columns, its strategy as name and version, knobs as given.</summary>
public sealed record BotView(long Id, string Name, IReadOnlyList<string> Symbols, string Timeframe, bool PaperMode, string Strategy,
    int? StrategyVersion, JsonElement Knobs, string Status, bool StopRequested, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static BotView From(Bot bot)
    {
        var (strategy, version) = StrategyRegistry.Split(bot.Strategy);
        using var knobs = JsonDocument.Parse(bot.Knobs);
        return new(bot.Id, bot.Name, bot.Symbols, bot.Timeframe, bot.PaperMode, strategy, version, knobs.RootElement.Clone(), bot.Status,
            bot.StopRequested, bot.CreatedAt, bot.UpdatedAt);
    }
}

public sealed record JobView(long Id, long? BotId, string Task, string Status, int Progress, string? Message, string? CeleryTaskId,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static JobView From(Job j) => new(j.Id, j.BotId, j.Task, j.Status, j.Progress, j.Message, j.CeleryTaskId, j.CreatedAt, j.UpdatedAt);
}

public sealed record SnapshotView(decimal Equity, decimal Cash, decimal PositionsValue, DateTimeOffset Timestamp);

/// <summary>GET /bots/{id}: the bot, its newest job, its latest portfolio snapshot and how many trades it has open.</summary>
public sealed record BotDetails(BotView Bot, JobView? CurrentJob, SnapshotView? LatestSnapshot, int OpenTrades);

/// <summary>GET /bots: a page, newest first, and the <c>before</c> of the next (older) page or null.</summary>
public sealed record BotList(IReadOnlyList<BotView> Bots, long? NextBefore);

/// <summary>GET /jobs: a page, and the <c>before</c> of the next (older) page or null.</summary>
public sealed record JobPage(IReadOnlyList<JobView> Jobs, long? NextBefore);

/// <summary>A knob as GET /strategies lists it: a boolean's default is 1 (true) or 0; a text knob with choices takes one of them.</summary>
public sealed record KnobView(string Name, string Type, decimal? Default, decimal Min, decimal Max, bool Required, string Scope, string Description,
    IReadOnlyList<string>? Choices);

/// <summary>
/// A strategy of GET /strategies: <c>source</c> built-in or user; a user strategy's file that does not compile has no
/// version, description or knobs, and says why in <c>diagnostics</c> (file, line, column, message); it cannot be chosen.
/// </summary>
public sealed record StrategyView(string Name, int? Version, string? Description, IReadOnlyList<KnobView> Knobs, string Source,
    IReadOnlyList<StrategyDiagnostic> Diagnostics)
{
    public static StrategyView From(StrategyEntry entry) => entry.Strategy is { } s
        ? new(s.Name, s.Version, s.Description, [.. s.Knobs.Select(k => Knob(k, "strategy")), .. BotKnobs.All.Select(k => Knob(k, "bot"))],
            entry.BuiltIn ? "built-in" : "user", [])
        : new(entry.Name, null, null, [], "user", entry.Diagnostics);

    private static KnobView Knob(KnobSpec k, string scope) =>
        new(k.Name, k.Type switch { KnobType.Integer => "integer", KnobType.Text => "text", KnobType.Boolean => "boolean", _ => "number" }, k.Default,
            k.Min, k.Max, k.Required, scope, k.Description, k.Choices);
}

public sealed record StrategyList(IReadOnlyList<StrategyView> Strategies);
