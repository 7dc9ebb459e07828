using Microsoft.EntityFrameworkCore;
using TradingBots.Data;
using TradingBots.Events;

namespace TradingBots.Worker;

/// <summary>
/// A backtest's job as the Worker moves it: taken (queued → running, or a running one whose Worker went silent), its
/// progress, and its end (completed with the summary, or failed). Each change one transaction under the job's row lock,
/// its job.progress event in the outbox. A job cancelled meanwhile (POST /jobs/{id}/cancel) stays cancelled: the run sees
/// it at its next progress and stops.
/// </summary>
public sealed class BacktestJobs(TradingDbContext db, WorkerIdentity me, TimeProvider time)
{
    /// <summary>A running backtest whose job has not moved for this long lost its Worker: another one takes it over.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(60);

    /// <summary>The backtest of a job this Worker now runs, or null (not a backtest, taken already, ended).</summary>
    public async Task<Backtest?> ClaimAsync(long jobId, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var job = await LockAsync(jobId, cancellationToken);
        var now = time.GetUtcNow();
        if (job is not { Task: JobStatus.BacktestTask }
            || job.Status != JobStatus.Queued && !(job.Status == JobStatus.Running && job.UpdatedAt < now - StaleAfter)) return null;
        var backtest = await db.Backtests.AsNoTracking().FirstOrDefaultAsync(b => b.JobId == jobId, cancellationToken);
        if (backtest is null) return null;
        await ChangeAsync(job, JobStatus.Running, 0, $"running on {me.Name}", now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return backtest;
    }

    /// <summary>Records progress (0–99) and what the run is doing; false when the job is no longer running (cancelled).</summary>
    public async Task<bool> ProgressAsync(long jobId, int progress, string message, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await LockAsync(jobId, cancellationToken) is not { Status: JobStatus.Running } job) return false;
        var changed = job.Progress != progress;
        job.Progress = progress;
        (job.Message, job.UpdatedAt) = (message, time.GetUtcNow());
        if (changed) Outbox.Add(db, EventTypes.JobProgress, new JobProgress(null, jobId, JobStatus.Running, progress, job.UpdatedAt), job.UpdatedAt);
        await db.SaveChangesAsync(cancellationToken);
        if (changed) await db.Database.ExecuteSqlRawAsync(Outbox.WakeSql, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Completes a running job with its summary (json); false when it was cancelled meanwhile.</summary>
    public Task<bool> CompleteAsync(long jobId, string summary, string message, CancellationToken cancellationToken) =>
        EndAsync(jobId, JobStatus.Completed, message, summary, cancellationToken);

    public Task<bool> FailAsync(long jobId, string message, CancellationToken cancellationToken) =>
        EndAsync(jobId, JobStatus.Failed, message, null, cancellationToken);

    private async Task<bool> EndAsync(long jobId, string status, string message, string? summary, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await LockAsync(jobId, cancellationToken) is not { Status: JobStatus.Running } job) return false;
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

    /// <summary>The job as it is now (a cancel commits from another service: nothing tracked from an earlier read is kept), locked.</summary>
    private Task<Job?> LockAsync(long jobId, CancellationToken cancellationToken)
    {
        db.ChangeTracker.Clear();
        return db.Jobs.FromSql($"SELECT * FROM jobs WHERE id = {jobId} FOR UPDATE").FirstOrDefaultAsync(cancellationToken);
    }
}
