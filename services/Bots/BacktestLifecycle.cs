using MassTransit;
using Microsoft.EntityFrameworkCore;
using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Messaging;

namespace TradingBots.Bots;

/// <summary>
/// A backtest's creation and a job's cancel. Creation is one transaction (the job, task backtest, queued, and the backtest
/// row with its resolved starting cash and fee rate), then the job message a Worker takes (its id is the job's
/// celery_task_id; with the broker down the Workers' sweep takes the job). Cancel is one transaction under the job's row
/// lock with its job.progress event; a bot's run is cancelled by stopping the bot.
/// </summary>
public sealed class BacktestLifecycle(TradingDbContext db, IPublishEndpoint bus, BotLifecycle bots, TimeProvider time, ILogger<BacktestLifecycle> logger)
{
    public enum Outcome { NotFound, Cancelled, Stopping, Unchanged, Finished }

    /// <param name="search">A parameter search's spec (SearchSpec's JSON): the job is then an optimization of many trials.</param>
    public async Task<(Job Job, Backtest Backtest)> CreateAsync(NewBacktest request, decimal startingCash, decimal feeRate, CancellationToken cancellationToken,
        string? search = null)
    {
        var messageId = NewId.NextGuid();
        var now = time.GetUtcNow();
        var job = new Job
        {
            Task = search is null ? JobStatus.BacktestTask : JobStatus.OptimizationTask, Status = JobStatus.Queued, Progress = 0, Message = "waiting for a worker",
            CeleryTaskId = messageId.ToString(), CreatedAt = now, UpdatedAt = now,
        };
        Backtest backtest;
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            db.Jobs.Add(job);
            await db.SaveChangesAsync(cancellationToken);
            backtest = new Backtest
            {
                JobId = job.Id, Strategy = request.Strategy.Name, Version = request.Strategy.Version, Knobs = request.Knobs,
                Symbols = [.. request.Symbols], Timeframe = request.Timeframe, From = request.From, To = request.To,
                StartingCash = startingCash, FeeRate = feeRate, CreatedAt = now, Search = search,
            };
            db.Backtests.Add(backtest);
            Outbox.Add(db, EventTypes.JobProgress, new JobProgress(null, job.Id, JobStatus.Queued, 0, now), now);
            await db.SaveChangesAsync(cancellationToken);
            await db.Database.ExecuteSqlRawAsync(Outbox.WakeSql, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        await JobMessages.PublishAsync(bus, new RunBacktest(job.Id), messageId, job.Id, logger, cancellationToken);
        return (job, backtest);
    }

    /// <summary>Cancels a queued or running backtest at once (its Worker stops at its next progress); a bot's run: its bot is asked to stop.</summary>
    public async Task<Outcome> CancelAsync(long jobId, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var job = await db.Jobs.FromSql($"SELECT * FROM jobs WHERE id = {jobId} FOR UPDATE").FirstOrDefaultAsync(cancellationToken);
        if (job is null) return Outcome.NotFound;
        if (job.Status == JobStatus.Cancelled) return Outcome.Unchanged;
        if (job.Status is not (JobStatus.Queued or JobStatus.Running)) return Outcome.Finished;
        if (!JobStatus.BacktestTasks.Contains(job.Task))
        {
            await transaction.RollbackAsync(cancellationToken);
            return job.BotId is { } botId && await bots.StopAsync(botId, cancellationToken) != BotLifecycle.Outcome.NotFound
                ? Outcome.Stopping : Outcome.NotFound;
        }
        var now = time.GetUtcNow();
        (job.Status, job.Message, job.UpdatedAt) = (JobStatus.Cancelled, "cancelled on request", now);
        Outbox.Add(db, EventTypes.JobProgress, new JobProgress(null, job.Id, JobStatus.Cancelled, job.Progress, now), now);
        await db.SaveChangesAsync(cancellationToken);
        await db.Database.ExecuteSqlRawAsync(Outbox.WakeSql, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return Outcome.Cancelled;
    }
}
