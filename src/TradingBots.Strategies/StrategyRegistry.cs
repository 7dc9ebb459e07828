using System.Text.Json;

namespace TradingBots.Strategies;

/// <summary>
/// Every strategy, found by name and version (the newest when no version is asked for), and the one validation of a
/// bot's knobs: each knob the strategy or every bot declares, by type and range; an unknown knob is refused.
/// </summary>
public static class StrategyRegistry
{
    public const string Default = "baseline";

    public static IReadOnlyList<IStrategy> All { get; } =
        [new Baseline(), new Llm(), new BuiltIn.RsiReversion(), new BuiltIn.MacdTrend(), new BuiltIn.BollingerBreakout(), new BuiltIn.Dca(), new BuiltIn.Grid()];

    /// <summary>"baseline" (its newest version) or "baseline@1"; null when there is no such strategy.</summary>
    public static IStrategy? Find(string nameOrKey)
    {
        var (name, version) = Split(nameOrKey);
        return All.Where(s => s.Name == name && (version is null || s.Version == version)).MaxBy(s => s.Version);
    }

    /// <summary>
    /// A strategy's name and version as a bot or backtest writes them, "name@version"; a bare "name" has no version, and a
    /// version that is not a whole number is −1 (no strategy has it).
    /// </summary>
    public static (string Name, int? Version) Split(string nameOrKey)
    {
        var at = nameOrKey.IndexOf('@');
        if (at < 0) return (nameOrKey, null);
        return (nameOrKey[..at], int.TryParse(nameOrKey.AsSpan(at + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
            out var version) ? version : -1);
    }

    /// <summary>How a bot names its strategy in bots.strategy: "baseline@1".</summary>
    public static string Key(IStrategy strategy) => $"{strategy.Name}@{strategy.Version}";

    /// <summary>What the knobs' reader of a strategy knows: its own knobs and every bot's.</summary>
    public static IReadOnlyList<KnobSpec> KnobsOf(IStrategy strategy) => [.. strategy.Knobs, .. BotKnobs.All];

    public static string Known => string.Join(", ", All.Select(Key));

    /// <summary>
    /// Valid knobs (<see cref="Validate"/>) as they are stored: each number in the one form of its declared type (an
    /// integer knob written <c>5.0</c> is <c>5</c>, a decimal one a plain decimal, never an exponent), texts trimmed, in
    /// the order given. What reads them later (the Worker's schedule, the paper engine) then never meets another form.
    /// </summary>
    public static string Normalize(IStrategy strategy, JsonElement knobs)
    {
        var specs = KnobsOf(strategy).ToDictionary(s => s.Name, StringComparer.Ordinal);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var knob in knobs.EnumerateObject())
            {
                var spec = specs[knob.Name];
                writer.WritePropertyName(knob.Name);
                if (spec.Type == KnobType.Text) writer.WriteStringValue(knob.Value.GetString()!.Trim());
                else if (spec.Type == KnobType.Boolean) writer.WriteBooleanValue(knob.Value.GetBoolean());
                else if (spec.Type == KnobType.Integer) writer.WriteNumberValue((long)knob.Value.GetDecimal());
                else writer.WriteNumberValue(knob.Value.GetDecimal());
            }
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

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
