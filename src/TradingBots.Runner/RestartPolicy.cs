namespace TradingBots.Runner;

/// <summary>
/// When to restart a service that exited on its own, like a process manager: after 1 s, then 2, 4, 8, 16 s for crashes
/// in a row; a run that stayed up <see cref="StableAfter"/> starts the count again. After <see cref="MaxRestarts"/>
/// restarts in a row it gives up (null), since a service that cannot stay up needs a person, not another restart.
/// </summary>
public sealed class RestartPolicy
{
    public const int MaxRestarts = 5;
    public static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(60);

    private int _inARow;

    /// <summary>Restarts so far in the current streak of crashes.</summary>
    public int InARow => _inARow;

    /// <summary>The delay before the next restart of a service that ran for <paramref name="uptime"/>, or null to give up.</summary>
    public TimeSpan? NextDelay(TimeSpan uptime)
    {
        if (uptime >= StableAfter) _inARow = 0;
        if (_inARow == MaxRestarts) return null;
        return FirstDelay * Math.Pow(2, _inARow++);
    }
}
