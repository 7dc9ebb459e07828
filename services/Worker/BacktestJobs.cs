using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TradingBots.Backtests;
using TradingBots.Data;
using TradingBots.Events;

namespace TradingBots.Worker;

/// <summary>
/// A backtest's job as the Worker moves it: taken (queued → running, or a running one whose Worker's heartbeat went
/// silent), its heartbeat, its progress, and its end (completed with the summary, or failed). A run holds its backtest
/// like a bot's lease: an owner, a fencing token from <c>fencing_tokens</c> and a heartbeat on the database's clock; its
/// progress and end are written only while the token is still its own, each one transaction under the job's row lock
/// (which a takeover takes too), its job.progress event in the outbox. A job cancelled meanwhile (POST /jobs/{id}/cancel)
/// stays cancelled: the run sees it at its next progress or heartbeat and stops.
/// </summary>
public sealed class BacktestJobs(TradingDbContext db, WorkerIdentity me, IOptions<BacktestsOptions> options, TimeProvider time)
{
    /// <summary>A run of a backtest: the backtest and the fencing token of this claim.</summary>
    public sealed record Run(Backtest Backtest, long Epoch)
    {
        public long JobId => Backtest.JobId;
    }

    /// <summary>The backtest of a job this Worker now runs, with its token; null when not a backtest, held by a live Worker, or ended.</summary>
    public async Task<Run?> ClaimAsync(long jobId, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await LockAsync(jobId, cancellationToken) is not { Status: JobStatus.Queued or JobStatus.Running } job || !JobStatus.BacktestTasks.Contains(job.Task)) return null;
        var epoch = await db.Database.SqlQuery<long>($"""
            UPDATE backtests SET owner = {me.Name}, epoch = nextval('fencing_tokens'), heartbeat_at = now()
            WHERE job_id = {jobId} AND ({job.Status} = 'queued' OR heartbeat_at IS NULL OR heartbeat_at < now() - {options.Value.StaleAfter})
            RETURNING epoch AS "Value"
            """).ToListAsync(cancellationToken);
        if (epoch.Count == 0) return null;
        var backtest = await db.Backtests.AsNoTracking().FirstAsync(b => b.JobId == jobId, cancellationToken);
        await ChangeAsync(job, JobStatus.Running, 0, $"running on {me.Name}", time.GetUtcNow(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new Run(backtest, epoch[0]);
    }

    /// <summary>Writes the run's heartbeat; false when the run no longer holds the backtest or its job is no longer running.</summary>
    public async Task<bool> HeartbeatAsync(Run run, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlAsync($"""
            UPDATE backtests b SET heartbeat_at = now() FROM jobs j
            WHERE b.job_id = {run.JobId} AND b.epoch = {run.Epoch} AND j.id = b.job_id AND j.status = 'running'
            """, cancellationToken) == 1;

    /// <summary>Records progress (0–99) and what the run is doing; false when the job is no longer running (cancelled) or no longer this run's.</summary>
    public async Task<bool> ProgressAsync(Run run, int progress, string message, CancellationToken cancellationToken)
    {
        var jobId = run.JobId;
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await LockAsync(run, cancellationToken) is not { } job) return false;
        var changed = job.Progress != progress;
        job.Progress = progress;
        (job.Message, job.UpdatedAt) = (message, time.GetUtcNow());
        if (changed) Outbox.Add(db, EventTypes.JobProgress, new JobProgress(null, jobId, JobStatus.Running, progress, job.UpdatedAt), job.UpdatedAt);
        await db.SaveChangesAsync(cancellationToken);
        if (changed) await db.Database.ExecuteSqlRawAsync(Outbox.WakeSql, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Completes a running job with its summary (json); false when it was cancelled meanwhile or is no longer this run's.</summary>
    public Task<bool> CompleteAsync(Run run, string summary, string message, CancellationToken cancellationToken) =>
        EndAsync(run, JobStatus.Completed, message, summary, cancellationToken);

    public Task<bool> FailAsync(Run run, string message, CancellationToken cancellationToken) =>
        EndAsync(run, JobStatus.Failed, message, null, cancellationToken);

    private async Task<bool> EndAsync(Run run, string status, string message, string? summary, CancellationToken cancellationToken)
    {
        var jobId = run.JobId;
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await LockAsync(run, cancellationToken) is not { } job) return false;
        if (summary is not null)
            await db.Backtests.Where(b => b.JobId == jobId).ExecuteUpdateAsync(b => b.SetProperty(x => x.Summary, summary), cancellationToken);
        await ChangeAsync(job, status, status == JobStatus.Completed ? 100 : job.Progress, message, time.GetUtcNow(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private async Task ChangeAsync(Job job, string status, int progress, string message, DateTimeOffset now, CancellationToken cancellationToken)
    {
        (job.Status, job.Progress, job.Message, job.UpdatedAt) = (status, progress, message, now);
        Outbox.Add(db, EventTypes.JobProgress, new JobProgress(null, job.Id, status, progress, now), now);
        await db.SaveChangesAsync(cancellationToken);
        await db.Database.ExecuteSqlRawAsync(Outbox.WakeSql, cancellationToken);
    }

    /// <summary>The run's job, locked, when it is running and the backtest still has the run's token; else null.</summary>
    private async Task<Job?> LockAsync(Run run, CancellationToken cancellationToken) =>
        await LockAsync(run.JobId, cancellationToken) is { Status: JobStatus.Running } job
            && await db.Backtests.AnyAsync(b => b.JobId == run.JobId && b.Epoch == run.Epoch, cancellationToken) ? job : null;

    /// <summary>The job as it is now (a cancel commits from another service: nothing tracked from an earlier read is kept), locked.</summary>
    private Task<Job?> LockAsync(long jobId, CancellationToken cancellationToken)
    {
        db.ChangeTracker.Clear();
        return db.Jobs.FromSql($"SELECT * FROM jobs WHERE id = {jobId} FOR UPDATE").FirstOrDefaultAsync(cancellationToken);
    }
}
