using System.Diagnostics;
using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("TradingBots.Strategies.Users")]

namespace TradingBots.Strategies;

/// <summary>
/// The budget of one call into a user strategy: time, memory allocated and stack depth. The platform compiles a call to
/// <see cref="Check"/> into the start of every method, accessor and loop body of a user strategy, so a strategy that
/// loops, allocates or recurses without bound stops at its next step, with the reason; outside a budgeted call it does nothing.
/// </summary>
public static class StrategyBudget
{
    [ThreadStatic] private static Limits? _current;

    private sealed class Limits(long deadline, long allocatedBefore, long maxBytes, TimeSpan time)
    {
        public readonly long Deadline = deadline, AllocatedBefore = allocatedBefore, MaxBytes = maxBytes;
        public readonly TimeSpan Time = time;
        public string? Exceeded;
    }

    /// <summary>Throws <see cref="StrategyBudgetException"/> when the call in progress is over its budget; else true.</summary>
    public static bool Check()
    {
        if (_current is not { } limits) return true;
        if (limits.Exceeded is { } said) throw new StrategyBudgetException(said);
        if (Stopwatch.GetTimestamp() > limits.Deadline)
            Exceed(limits, $"took longer than its budget of {limits.Time.TotalMilliseconds:0} ms per call");
        if (GC.GetAllocatedBytesForCurrentThread() - limits.AllocatedBefore > limits.MaxBytes)
            Exceed(limits, $"allocated more than its budget of {limits.MaxBytes / (1024 * 1024)} MiB per call");
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) Exceed(limits, "recursed deeper than the stack allows");
        return true;
    }

    private static void Exceed(Limits limits, string reason)
    {
        // Kept: a strategy that catches the exception meets it again at its next step, and the call fails at its end anyway.
        limits.Exceeded = reason;
        throw new StrategyBudgetException(reason);
    }

    /// <summary>Runs <paramref name="call"/> under a budget on this thread; the reason it went over, if it did (even if the strategy caught it).</summary>
    internal static (T? Result, string? Exceeded) Run<T>(Func<T> call, TimeSpan time, long maxBytes)
    {
        var outer = _current;
        var limits = new Limits(Stopwatch.GetTimestamp() + (long)(time.TotalSeconds * Stopwatch.Frequency), GC.GetAllocatedBytesForCurrentThread(), maxBytes, time);
        _current = limits;
        try
        {
            var result = call();
            if (limits.Exceeded is null && Stopwatch.GetTimestamp() > limits.Deadline)
                limits.Exceeded = $"took longer than its budget of {time.TotalMilliseconds:0} ms per call";
            return (limits.Exceeded is null ? result : default, limits.Exceeded);
        }
        catch (Exception) when (limits.Exceeded is not null)
        {
            return (default, limits.Exceeded);
        }
        finally
        {
            _current = outer;
        }
    }
}

/// <summary>A user strategy's call went over its budget (time, memory or stack); the message says which.</summary>
public sealed class StrategyBudgetException(string message) : Exception(message);
