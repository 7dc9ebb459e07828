using Microsoft.EntityFrameworkCore;
using TradingBots.Data;

namespace TradingBots.Worker;

/// <summary>
/// Every few seconds, in every Worker: runs the backtest jobs whose message never came (queued for longer than a sweep:
/// RabbitMQ was down when they were created) and those whose Worker went silent mid-run (<see cref="BacktestJobs.StaleAfter"/>),
/// one at a time. Taking a job is one locked transaction, so two Workers never run one job.
/// </summary>
public sealed class BacktestSweeper(IServiceScopeFactory scopes, TimeProvider time, ILogger<BacktestSweeper> logger) : BackgroundService
{
    private static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning("Backtest sweep: {Error} ({Message}); going on", ex.GetType().Name, ex.Message);
            }
            try { await Task.Delay(SweepEvery, time, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        List<long> due;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var now = time.GetUtcNow();
            due = await scope.ServiceProvider.GetRequiredService<TradingDbContext>().Jobs.AsNoTracking()
                .Where(j => j.Task == JobStatus.BacktestTask
                    && (j.Status == JobStatus.Queued && j.CreatedAt < now - SweepEvery || j.Status == JobStatus.Running && j.UpdatedAt < now - BacktestJobs.StaleAfter))
                .OrderBy(j => j.Id).Select(j => j.Id).Take(10).ToListAsync(cancellationToken);
        }
        foreach (var job in due)
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<BacktestRunner>().RunAsync(job, cancellationToken);
        }
    }
}
