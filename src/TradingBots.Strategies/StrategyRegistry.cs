using System.Text.Json;

namespace TradingBots.Strategies;

/// <summary>
/// Every strategy, found by name and version (the newest when no version is asked for), and the one validation of a
/// bot's knobs: each knob the strategy or every bot declares, by type and range; an unknown knob is refused.
/// </summary>
public static class StrategyRegistry
{
    public const string Default = "baseline";

    public static IReadOnlyList<IStrategy> All { get; } = [new Baseline(), new Llm()];

    /// <summary>"baseline" (its newest version) or "baseline@1"; null when there is no such strategy.</summary>
    public static IStrategy? Find(string nameOrKey)
    {
        var at = nameOrKey.IndexOf('@');
        var name = at < 0 ? nameOrKey : nameOrKey[..at];
        int? version = at < 0 ? null : int.TryParse(nameOrKey[(at + 1)..], out var v) ? v : -1;
        return All.Where(s => s.Name == name && (version is null || s.Version == version)).MaxBy(s => s.Version);
    }

    /// <summary>How a bot names its strategy in bots.strategy: "baseline@1".</summary>
    public static string Key(IStrategy strategy) => $"{strategy.Name}@{strategy.Version}";

    /// <summary>What the knobs' reader of a strategy knows: its own knobs and every bot's.</summary>
    public static IReadOnlyList<KnobSpec> KnobsOf(IStrategy strategy) => [.. strategy.Knobs, .. BotKnobs.All];

    public static string Known => string.Join(", ", All.Select(Key));

    /// <summary>Every problem of these knobs for this strategy, as "knobs.name" → reasons; empty when they are valid.</summary>
    public static Dictionary<string, string[]> Validate(IStrategy strategy, JsonElement knobs)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (knobs.ValueKind != JsonValueKind.Object)
        {
            errors["knobs"] = ["must be a JSON object"];
            return errors;
        }
        var specs = KnobsOf(strategy).ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (var knob in knobs.EnumerateObject())
        {
            if (!specs.TryGetValue(knob.Name, out var spec))
                errors[$"knobs.{knob.Name}"] = [$"unknown knob of {Key(strategy)}; known: {string.Join(", ", specs.Keys)}"];
            else if (spec.Problem(knob.Value) is { } problem)
                errors[$"knobs.{knob.Name}"] = [problem];
        }
        foreach (var spec in specs.Values.Where(s => s.Required && !knobs.TryGetProperty(s.Name, out _)))
            errors[$"knobs.{spec.Name}"] = ["is required"];
        if (errors.Count == 0)
        {
            foreach (var (knob, reason) in strategy.Conflicts(new KnobValues(knobs, specs.Values))) errors[$"knobs.{knob}"] = [reason];
        }
        return errors;
    }
}
