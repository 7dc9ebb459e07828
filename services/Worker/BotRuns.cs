using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Strategies;
using TradingBots.Strategies.Users;

namespace TradingBots.Worker;

/// <summary>
/// A bot's run as its job records it: taken by a Worker (lease, job running, bot running), ended (completed after
/// max_ticks, cancelled on stop, failed on a strategy error). Each change one transaction under the bot's row lock,
/// its bot.state / job.progress events in the outbox.
/// </summary>
public sealed class BotRuns(TradingDbContext db, StrategyCatalog catalog, WorkerIdentity me, TimeProvider time, ILogger<BotRuns> logger)
{
    /// <summary>Takes a queued job (from its message or the sweep); a duplicate message or a job taken already changes nothing.</summary>
    public async Task ClaimAsync(long jobId, long botId, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var bot = await db.Bots.FromSql($"SELECT * FROM bots WHERE id = {botId} FOR UPDATE").FirstOrDefaultAsync(cancellationToken);
        var job = await db.Jobs.FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken);
        if (bot is null || job is null || job.Status != JobStatus.Queued) return;
        var now = time.GetUtcNow();
        var strategy = await catalog.FindAsync(bot.Strategy, cancellationToken);
        if (bot.StopRequested || bot.Status != BotStatus.Starting)
        {
            await EndAsync(bot, job, JobStatus.Cancelled, BotStatus.Stopped, "stopped before it started", now, cancellationToken);
        }
        else if (KnobsProblem(bot, strategy) is { } problem)
        {
            await EndAsync(bot, job, JobStatus.Failed, BotStatus.Error, problem, now, cancellationToken);
        }
        else
        {
            // The schedule reads the lease's typed tick, written here from the validated knob; its times are the database's.
            var tick = BotKnobs.Tick(KnobValues.Parse(bot.Knobs, StrategyRegistry.KnobsOf(strategy!)));
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO bot_leases (bot_id, job_id, owner, expires_at, next_tick_at, ticks, tick_seconds, epoch)
                VALUES ({botId}, {jobId}, {me.Name}, now() + make_interval(secs => 2 * {tick}), now(), 0, {tick}, 0)
                """, cancellationToken);
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

    /// <summary>
    /// Ends a bot's run under its tick's claim: the job with its final status and message, the bot stopped (or in error), its
    /// lease gone; nothing when the lease was taken over meanwhile (the new owner ends it, if it still should end).
    /// </summary>
    public async Task EndAsync(Fence fence, string jobStatus, string botStatus, string message, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var bot = await db.Bots.FromSql($"SELECT * FROM bots WHERE id = {fence.BotId} FOR UPDATE").FirstOrDefaultAsync(cancellationToken);
        var job = await db.Jobs.FirstOrDefaultAsync(j => j.Id == fence.JobId, cancellationToken);
        if (bot is null || job is null) return;
        if (await db.BotLeases.Where(l => l.BotId == fence.BotId && l.Epoch == fence.Epoch).ExecuteDeleteAsync(cancellationToken) == 0) return;
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
        await db.JudgedCandles.Where(j => j.JobId == job.Id).ExecuteDeleteAsync(cancellationToken);
        Emit(EventTypes.JobProgress, new JobProgress(bot.Id, job.Id, jobStatus, job.Progress, now));
        Emit(EventTypes.BotState, new BotState(bot.Id, botStatus, job.Id, now));
        await db.SaveChangesAsync(cancellationToken);
    }

    private void Emit<T>(string type, T data) => Outbox.Add(db, type, data, time.GetUtcNow());

    /// <summary>
    /// Why a bot cannot be run with its stored strategy (<paramref name="strategy"/>, as the catalog found it) and knobs (a
    /// row edited by hand, or by an older version): its strategy unknown, a knob at fault with the API's reason, or the
    /// strategy failing to judge them; null when they are valid. Such a bot is failed alone.
    /// </summary>
    public static string? KnobsProblem(Bot bot, IStrategy? strategy)
    {
        if (strategy is null) return $"unknown strategy '{bot.Strategy}': neither a built-in ({StrategyRegistry.Known}) nor a stored user strategy that compiles";
        using var knobs = JsonDocument.Parse(bot.Knobs);
        try
        {
            var errors = StrategyRegistry.Validate(strategy, knobs.RootElement);
            return errors.Count == 0 ? null : "unreadable knobs: " + string.Join("; ", errors.Select(e => $"{e.Key} {string.Join(", ", e.Value)}"));
        }
        catch (StrategyFailedException ex)
        {
            return $"strategy {bot.Strategy} failed: {ex.Message}";
        }
    }
}

/// <summary>This Worker process's name in leases and job messages: host and pid, unique among running Workers.</summary>
public sealed class WorkerIdentity
{
    public string Name { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";
}
