using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TradingBots.Data;
using TradingBots.Events;

namespace TradingBots.Worker;

/// <summary>
/// A bot's run as its job records it: taken by a Worker (lease, job running, bot running), ended (completed after
/// max_ticks, cancelled on stop, failed on a strategy error). Each change one transaction under the bot's row lock,
/// its bot.state / job.progress events in the outbox.
/// </summary>
public sealed class BotRuns(TradingDbContext db, WorkerIdentity me, TimeProvider time, ILogger<BotRuns> logger)
{
    /// <summary>Takes a queued job (from its message or the sweep); a duplicate message or a job taken already changes nothing.</summary>
    public async Task ClaimAsync(long jobId, long botId, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var bot = await db.Bots.FromSql($"SELECT * FROM bots WHERE id = {botId} FOR UPDATE").FirstOrDefaultAsync(cancellationToken);
        var job = await db.Jobs.FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (bot is null || job is null || job.Status != JobStatus.Queued) return;
        var now = time.GetUtcNow();
        if (bot.StopRequested || bot.Status != BotStatus.Starting)
        {
            await EndAsync(bot, job, JobStatus.Cancelled, BotStatus.Stopped, "stopped before it started", now, cancellationToken);
        }
        else
        {
            var tick = TickSeconds(bot.Knobs);
            db.BotLeases.Add(new BotLease
            {
                BotId = botId, JobId = jobId, Owner = me.Name, ExpiresAt = now.AddSeconds(2 * tick), NextTickAt = now, Ticks = 0,
            });
            (job.Status, job.Message, job.UpdatedAt) = (JobStatus.Running, $"running on {me.Name}", now);
            (bot.Status, bot.UpdatedAt) = (BotStatus.Running, now);
            Emit(EventTypes.BotState, new BotState(botId, BotStatus.Running, jobId, now));
            Emit(EventTypes.JobProgress, new JobProgress(botId, jobId, JobStatus.Running, job.Progress, now));
            await db.SaveChangesAsync(cancellationToken);
        }
        await db.Database.ExecuteSqlRawAsync(Outbox.WakeSql, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        logger.LogInformation("Bot {Bot}: job {Job} taken by {Worker}", botId, jobId, me.Name);
    }

    /// <summary>Ends a bot's run: the job with its final status and message, the bot stopped (or in error), its lease gone.</summary>
    public async Task EndAsync(long botId, long jobId, string jobStatus, string botStatus, string message, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var bot = await db.Bots.FromSql($"SELECT * FROM bots WHERE id = {botId} FOR UPDATE").FirstOrDefaultAsync(cancellationToken);
        var job = await db.Jobs.FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (bot is null || job is null) return;
        await EndAsync(bot, job, jobStatus, botStatus, message, time.GetUtcNow(), cancellationToken);
        await db.Database.ExecuteSqlRawAsync(Outbox.WakeSql, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private async Task EndAsync(Bot bot, Job job, string jobStatus, string botStatus, string message, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (jobStatus == JobStatus.Completed) job.Progress = 100;
        (job.Status, job.Message, job.UpdatedAt) = (jobStatus, message, now);
        (bot.Status, bot.StopRequested, bot.UpdatedAt) = (botStatus, false, now);
        await db.BotLeases.Where(l => l.BotId == bot.Id).ExecuteDeleteAsync(cancellationToken);
        Emit(EventTypes.JobProgress, new JobProgress(bot.Id, job.Id, jobStatus, job.Progress, now));
        Emit(EventTypes.BotState, new BotState(bot.Id, botStatus, job.Id, now));
        await db.SaveChangesAsync(cancellationToken);
    }

    private void Emit<T>(string type, T data) => Outbox.Add(db, type, data, time.GetUtcNow());

    /// <summary>knobs.tick_seconds (validated when set), else 5.</summary>
    public static int TickSeconds(string knobs)
    {
        using var json = JsonDocument.Parse(knobs);
        return json.RootElement.TryGetProperty(Strategies.BotKnobs.TickSeconds, out var tick) && tick.TryGetInt32(out var seconds) && seconds >= 1
            ? seconds : 5;
    }
}

/// <summary>This Worker process's name in leases and job messages: host and pid, unique among running Workers.</summary>
public sealed class WorkerIdentity
{
    public string Name { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";
}
