using System.Diagnostics;
using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("TradingBots.Strategies.Users")]
[assembly: InternalsVisibleTo("TradingBots.UnitTests")]

namespace TradingBots.Strategies;

/// <summary>
/// The budget of one call into a user strategy: time, memory allocated and stack depth. The platform compiles a call to
/// <see cref="Check"/> into the start of every method, accessor and loop body of a user strategy, so a strategy that
/// loops, allocates or recurses without bound stops at its next step, with the reason; outside a budgeted call it does nothing.
/// Time is the CPU time the call's thread spent (where the system tells it: <see cref="ThreadClock"/>), so a call is not
/// blamed for a busy machine: the cheap wall clock says when to look, the thread's CPU clock judges, and a call still
/// running after <see cref="WallTimes"/> times its budget of wall time goes over whatever its CPU time.
/// </summary>
public static class StrategyBudget
{
    [ThreadStatic] private static Limits? _current;

    // The thread's CPU clock read at most once a millisecond of wall time (a call's start is judged from the last reading,
    // at most 1 ms of CPU early): a backtest calls a strategy a million times a second, a system call each would cost more.
    [ThreadStatic] private static long _cpuReadAt;
    [ThreadStatic] private static TimeSpan? _cpuRead;

    private static TimeSpan? CpuAtStart()
    {
        var now = Stopwatch.GetTimestamp();
        if (_cpuReadAt == 0 || now - _cpuReadAt > Stopwatch.Frequency / 1000) (_cpuRead, _cpuReadAt) = (ThreadClock.Now(), now);
        return _cpuRead;
    }

    /// <summary>How many times its budget of wall time a call may take while its thread waits for a core.</summary>
    public const int WallTimes = 10;

    private sealed class Limits(TimeSpan time, long maxBytes)
    {
        public readonly long Started = Stopwatch.GetTimestamp(), AllocatedBefore = GC.GetAllocatedBytesForCurrentThread(), MaxBytes = maxBytes;
        public readonly TimeSpan Time = time;
        public readonly TimeSpan? CpuStarted = CpuAtStart();
        /// <summary>When to look at the CPU clock next: the earliest the budget can have been spent.</summary>
        public long Deadline = Stopwatch.GetTimestamp() + Ticks(time);
        public string? Exceeded;

        /// <summary>At the wall deadline: over when the thread spent its budget (or the wall allowance is spent); else the next deadline.</summary>
        public bool Over()
        {
            var now = Stopwatch.GetTimestamp();
            if (now <= Deadline) return false;
            if (CpuStarted is not { } started || ThreadClock.Now() is not { } cpu || now - Started > WallTimes * Ticks(Time)) return true;
            var left = Time - (cpu - started);
            if (left <= TimeSpan.Zero) return true;
            Deadline = now + Ticks(left);
            return false;
        }

        private static long Ticks(TimeSpan time) => (long)(time.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Throws <see cref="StrategyBudgetException"/> when the call in progress is over its budget; else true.</summary>
    public static bool Check()
    {
        if (_current is not { } limits) return true;
        if (limits.Exceeded is { } said) throw new StrategyBudgetException(said);
        if (limits.Over())
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
        var limits = new Limits(time, maxBytes);
        _current = limits;
        try
        {
            var result = call();
            if (limits.Exceeded is null && limits.Over())
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

/// <summary>The CPU time the calling thread has spent: Linux's per-thread CPU clock; null elsewhere, or when it cannot be read.</summary>
internal static partial class ThreadClock
{
    private const int ThreadCpuTimeId = 3; // CLOCK_THREAD_CPUTIME_ID

    private struct Timespec
    {
        public nint Seconds, Nanoseconds;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
    private static extern int ClockGetTime(int clock, out Timespec time);

    private static readonly bool Available = OperatingSystem.IsLinux();

    public static TimeSpan? Now()
    {
        if (!Available || ClockGetTime(ThreadCpuTimeId, out var time) != 0) return null;
        return TimeSpan.FromTicks(time.Seconds * TimeSpan.TicksPerSecond + time.Nanoseconds / 100);
    }
}

/// <summary>A user strategy's call went over its budget (time, memory or stack); the message says which.</summary>
public sealed class StrategyBudgetException(string message) : Exception(message);
