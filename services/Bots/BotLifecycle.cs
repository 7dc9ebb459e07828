using MassTransit;
using Microsoft.EntityFrameworkCore;
using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Messaging;

namespace TradingBots.Bots;

/// <summary>
/// Start and stop, each one transaction under the bot's row lock, with its bot.state event in the outbox. Start creates
/// the job (bot.run, queued) and, once committed, sends the job message a Worker takes (its id is the job's
/// celery_task_id); stop only asks (stop_requested): the Worker that runs the bot ends the run within one tick.
/// </summary>
public sealed class BotLifecycle(TradingDbContext db, IPublishEndpoint bus, TimeProvider time, ILogger<BotLifecycle> logger)
{
    public enum Outcome { NotFound, Unchanged, Changed, Conflict }

    public async Task<(Outcome Outcome, string? Reason)> StartAsync(long botId, CancellationToken cancellationToken)
    {
        var messageId = NewId.NextGuid();
        Job job;
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            if (await LockAsync(botId, cancellationToken) is not { } bot) return (Outcome.NotFound, null);
            if (bot.Status is BotStatus.Running or BotStatus.Starting) return (Outcome.Unchanged, null);
            if (bot.Status == BotStatus.Stopping) return (Outcome.Conflict, $"bot {botId} is stopping; start it again once it is stopped");

            var now = time.GetUtcNow();
            job = new Job
            {
                BotId = botId, Task = JobStatus.BotRunTask, Status = JobStatus.Queued, Progress = 0, Message = "waiting for a worker",
                CeleryTaskId = messageId.ToString(), CreatedAt = now, UpdatedAt = now,
            };
            db.Jobs.Add(job);
            (bot.Status, bot.StopRequested, bot.UpdatedAt) = (BotStatus.Starting, false, now);
            await db.SaveChangesAsync(cancellationToken);
            await EmitAsync(new BotState(botId, BotStatus.Starting, job.Id, now), cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        await JobMessages.PublishAsync(bus, new RunBot(job.Id, botId), messageId, job.Id, logger, cancellationToken);
        return (Outcome.Changed, null);
    }

    public async Task<Outcome> StopAsync(long botId, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await LockAsync(botId, cancellationToken) is not { } bot) return Outcome.NotFound;
        if (bot.Status is BotStatus.Stopped or BotStatus.Stopping) return Outcome.Unchanged;
        var now = time.GetUtcNow();
        var job = await db.Jobs.Where(j => j.BotId == botId && (j.Status == JobStatus.Queued || j.Status == JobStatus.Running))
            .OrderByDescending(j => j.Id).Select(j => (long?)j.Id).FirstOrDefaultAsync(cancellationToken);
        // A bot in error has no run to end: it is stopped at once.
        var status = bot.Status == BotStatus.Error || job is null ? BotStatus.Stopped : BotStatus.Stopping;
        (bot.Status, bot.StopRequested, bot.UpdatedAt) = (status, status == BotStatus.Stopping, now);
        await db.SaveChangesAsync(cancellationToken);
        await EmitAsync(new BotState(botId, status, job, now), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return Outcome.Changed;
    }

    private Task<Bot?> LockAsync(long botId, CancellationToken cancellationToken) =>
        db.Bots.FromSql($"SELECT * FROM bots WHERE id = {botId} FOR UPDATE").FirstOrDefaultAsync(cancellationToken);

    private async Task EmitAsync(BotState state, CancellationToken cancellationToken)
    {
        Outbox.Add(db, EventTypes.BotState, state, state.Ts);
        await db.SaveChangesAsync(cancellationToken);
        await db.Database.ExecuteSqlRawAsync(Outbox.WakeSql, cancellationToken);
    }
}
