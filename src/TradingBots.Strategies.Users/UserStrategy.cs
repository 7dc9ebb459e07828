namespace TradingBots.Strategies.Users;

/// <summary>How much one call into a user strategy may take: time on the clock, bytes allocated (stack depth: what the thread has).</summary>
public sealed record StrategyLimits(TimeSpan PerCall, long Bytes);

/// <summary>
/// A compiled user strategy as the platform sees any strategy: its name and version are the platform's, and every call
/// into its code runs under its <see cref="StrategyLimits"/>. Whatever the code does wrong (throws, loops, allocates or
/// recurses without bound) comes out as a <see cref="StrategyFailedException"/> saying which call and why.
/// </summary>
public sealed class UserStrategy : IStrategy
{
    private readonly IStrategyLogic _logic;
    private readonly StrategyLimits _limits;

    private UserStrategy(string name, int version, IStrategyLogic logic, StrategyLimits limits, string description, IReadOnlyList<KnobSpec> knobs) =>
        (Name, Version, _logic, _limits, Description, Knobs) = (name, version, logic, limits, description, knobs);

    /// <summary>The strategy, its description and knobs read once (under budget); a failure there is its diagnostics' reason.</summary>
    public static UserStrategy Create(string name, int version, IStrategyLogic logic, StrategyLimits limits)
    {
        var description = Guard(limits, name, "Description", () => logic.Description ?? "");
        var knobs = Guard(limits, name, "Knobs", () => (IReadOnlyList<KnobSpec>)[.. logic.Knobs ?? []]);
        return new(name, version, logic, limits, description, knobs);
    }

    /// <summary>The same strategy as <paramref name="version"/> (its description and knobs as read already).</summary>
    public UserStrategy WithVersion(int version) => new(Name, version, _logic, _limits, Description, Knobs);

    public string Name { get; }
    public int Version { get; }
    public string Description { get; }
    public IReadOnlyList<KnobSpec> Knobs { get; }

    public int CandlesNeeded(KnobValues knobs) => Guard(_limits, Key, "CandlesNeeded", () => _logic.CandlesNeeded(knobs));

    public IEnumerable<(string Knob, string Reason)> Conflicts(KnobValues knobs) =>
        Guard(_limits, Key, "Conflicts", () => (IReadOnlyList<(string, string)>)[.. _logic.Conflicts(knobs) ?? []]);

    public IReadOnlyList<StrategyOrder> Decide(StrategyInput input) =>
        Guard(_limits, Key, "Decide", () => (IReadOnlyList<StrategyOrder>)[.. _logic.Decide(input) ?? []]);

    public Stops StopsOf(OpenTrade trade, KnobValues knobs) => Guard(_limits, Key, "StopsOf", () => _logic.StopsOf(trade, knobs));

    private string Key => $"{Name}@{Version}";

    private static T Guard<T>(StrategyLimits limits, string who, string call, Func<T> run)
    {
        try
        {
            var (result, exceeded) = StrategyBudget.Run(run, limits.PerCall, limits.Bytes);
            return exceeded is null ? result! : throw new StrategyFailedException($"{who}: {call} {exceeded}");
        }
        catch (Exception ex) when (ex is not StrategyFailedException)
        {
            throw new StrategyFailedException($"{who}: {call} threw {ex.GetType().Name}: {ex.Message}", ex);
        }
    }
}
