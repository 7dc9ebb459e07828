namespace TradingBots.Worker;

/// <summary>A lease's heartbeat: written on a timer while its work runs, each in a scope of its own; one refused stops the work.</summary>
public static class Heartbeat
{
    /// <summary>
    /// Calls <paramref name="beat"/> every <paramref name="every"/> until <paramref name="held"/> is cancelled; when it answers
    /// false (the lease is no longer held) cancels <paramref name="held"/>. A beat that fails is told to <paramref name="missed"/> and tried at the next.
    /// </summary>
    public static async Task KeepAsync(IServiceScopeFactory scopes, TimeSpan every, TimeProvider time,
        Func<IServiceProvider, CancellationToken, Task<bool>> beat, CancellationTokenSource held, Action<string> missed)
    {
        using var timer = new PeriodicTimer(every, time);
        try
        {
            while (await timer.WaitForNextTickAsync(held.Token))
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    if (await beat(scope.ServiceProvider, held.Token)) continue;
                    await held.CancelAsync();
                    return;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    missed(ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (held.IsCancellationRequested)
        {
        }
    }
}
