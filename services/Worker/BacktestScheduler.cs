using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TradingBots.Backtests;
using TradingBots.Data;

namespace TradingBots.Worker;

/// <summary>
/// Runs backtests from the jobs table, in every Worker, at most <see cref="BacktestsOptions.Concurrency"/> at once: the
/// queued ones, oldest first, and the running ones whose Worker's heartbeat went silent (<see cref="BacktestsOptions.StaleAfter"/>).
/// A job message only wakes it (its consumer acknowledges at once, so a long run never holds a broker message); without
/// one it looks every few seconds. Taking a job is one locked transaction, so two Workers never run one job. A slot with
/// no job due helps with a search another Worker holds (<see cref="SearchTrials"/>), and looks for jobs again after.
/// </summary>
public sealed class BacktestScheduler(IServiceScopeFactory scopes, SearchTrials trials, IOptions<BacktestsOptions> options, ILogger<BacktestScheduler> logger)
    : BackgroundService
{
    private static readonly TimeSpan LookEvery = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>A job was created (its message came): look now.</summary>
    public void Wake()
    {
        try { _wake.Release(); }
        catch (SemaphoreFullException) { } // already woken
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(options.Value.Concurrency);
        var running = new System.Collections.Concurrent.ConcurrentDictionary<long, bool>();
        var runs = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await slots.WaitAsync(stoppingToken);
                long? next = null;
                try
                {
                    next = await NextAsync([.. running.Keys], stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning("Backtests: {Error} ({Message}); looking again shortly", ex.GetType().Name, ex.Message);
                }
                if (next is not { } job)
                {
                    // No backtest due: this slot helps with a search another Worker holds, if one has trials left.
                    var helped = await HelpAsync(stoppingToken);
                    slots.Release();
                    if (!helped) await _wake.WaitAsync(LookEvery, stoppingToken);
                    continue;
                }
                running[job] = true;
                runs.RemoveAll(r => r.IsCompleted);
                runs.Add(RunAsync(job, running, slots, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        await Task.WhenAll(runs);
    }

    /// <summary>The oldest backtest job due (queued, or running with a silent heartbeat) that this Worker is not running.</summary>
    private async Task<long?> NextAsync(long[] busy, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TradingDbContext>();
        var due = await db.Database.SqlQuery<long>($"""
            SELECT j.id AS "Value" FROM jobs j JOIN backtests b ON b.job_id = j.id
            WHERE j.task = ANY({JobStatus.BacktestTasks.ToArray()}) AND NOT (j.id = ANY({busy}))
              AND (j.status = 'queued' OR j.status = 'running' AND (b.heartbeat_at IS NULL OR b.heartbeat_at < now() - {options.Value.StaleAfter}))
            ORDER BY j.id LIMIT 1
            """).ToListAsync(cancellationToken);
        return due.Count == 0 ? null : due[0];
    }

    /// <summary>Runs chunks of a search another Worker holds (<see cref="SearchTrials.HelpAsync"/>); false when none was due.</summary>
    private async Task<bool> HelpAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await trials.HelpAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Searches: helping failed: {Error} ({Message}); looking again shortly", ex.GetType().Name, ex.Message);
            return false;
        }
    }

    private async Task RunAsync(long job, System.Collections.Concurrent.ConcurrentDictionary<long, bool> running, SemaphoreSlim slots,
        CancellationToken cancellationToken)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<BacktestRunner>().RunAsync(job, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Backtest {Job}: {Error} ({Message})", job, ex.GetType().Name, ex.Message);
        }
        finally
        {
            running.TryRemove(job, out _);
            slots.Release();
        }
    }
}
