using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using TradingBots.Backtests;
using TradingBots.Data;

namespace TradingBots.Worker;

/// <summary>
/// The shares of a search's trials in <c>search_chunks</c>, as the Workers move them. The run holding the search plans
/// them (<see cref="PlanAsync"/>, fenced by its token); any Worker takes one like a lease (<see cref="ClaimAsync"/>: its own
/// token from <c>fencing_tokens</c> and a heartbeat on the database's clock; one whose heartbeat went silent is taken again),
/// and its results are written only by that token, while the search is still running under the run that planned it.
/// </summary>
public sealed class SearchChunks(TradingDbContext db, WorkerIdentity me, IOptions<BacktestsOptions> options)
{
    /// <summary>A chunk this Worker holds: the search's run (<see cref="Epoch"/>), its trials and its own token.</summary>
    public sealed record Claim(long JobId, int Chunk, long Epoch, long Token, int FirstTrial, int TrialCount);

    /// <summary>Plans the run's chunks and its plan, replacing those of a run before it; false when the run no longer holds the search.</summary>
    public async Task<bool> PlanAsync(BacktestJobs.Run run, SearchPlan plan, IReadOnlyList<(int First, int Count)> chunks, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (await db.Database.ExecuteSqlAsync($"""
                UPDATE backtests SET search_plan = {plan.ToJson()}::jsonb WHERE job_id = {run.JobId} AND epoch = {run.Epoch}
                """, cancellationToken) != 1) return false;
        await db.Database.ExecuteSqlAsync($"DELETE FROM search_chunks WHERE job_id = {run.JobId}", cancellationToken);
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO search_chunks (job_id, chunk, epoch, first_trial, trial_count)
            SELECT {run.JobId}, c.n, {run.Epoch}, c.first, c.count FROM unnest({chunks.Select(c => c.First).ToArray()}, {chunks.Select(c => c.Count).ToArray()})
                WITH ORDINALITY AS c(first, count, n)
            """, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>The next chunk due of the search's run (<paramref name="search"/>), or of any running search another Worker holds; null when none is.</summary>
    public async Task<Claim?> ClaimAsync(BacktestJobs.Run? search, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken);
        await using var claim = new NpgsqlCommand($"""
            UPDATE search_chunks c SET owner = @me, token = nextval('fencing_tokens'), heartbeat_at = now()
            FROM (SELECT d.job_id, d.chunk FROM search_chunks d
                  JOIN backtests b ON b.job_id = d.job_id AND b.epoch = d.epoch
                  JOIN jobs j ON j.id = d.job_id AND j.status = 'running'
                  WHERE d.results IS NULL AND (d.token IS NULL OR d.heartbeat_at < now() - @stale)
                    AND {(search is null ? "b.owner <> @me" : "d.job_id = @job AND d.epoch = @epoch")}
                  ORDER BY d.job_id, d.chunk LIMIT 1 FOR UPDATE OF d SKIP LOCKED) due
            WHERE c.job_id = due.job_id AND c.chunk = due.chunk
            RETURNING c.job_id, c.chunk, c.epoch, c.token, c.first_trial, c.trial_count
            """, connection);
        claim.Parameters.AddWithValue("me", me.Name);
        claim.Parameters.AddWithValue("stale", options.Value.StaleAfter);
        claim.Parameters.AddWithValue("job", NpgsqlDbType.Bigint, search?.JobId ?? 0);
        claim.Parameters.AddWithValue("epoch", NpgsqlDbType.Bigint, search?.Epoch ?? 0);
        await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new Claim(reader.GetInt64(0), reader.GetInt32(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt32(4), reader.GetInt32(5))
            : null;
    }

    /// <summary>Writes the chunk's heartbeat; false when another Worker took it over, or its search was cancelled, ended or taken over.</summary>
    public async Task<bool> HeartbeatAsync(Claim claim, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlAsync($"""
            UPDATE search_chunks c SET heartbeat_at = now() FROM backtests b, jobs j
            WHERE c.job_id = {claim.JobId} AND c.chunk = {claim.Chunk} AND c.token = {claim.Token} AND c.results IS NULL
              AND b.job_id = c.job_id AND b.epoch = c.epoch AND j.id = c.job_id AND j.status = 'running'
            """, cancellationToken) == 1;

    /// <summary>Writes the chunk's trial runs, under the same conditions as its heartbeat; false when they no longer hold.</summary>
    public async Task<bool> CompleteAsync(Claim claim, TrialRun[] runs, CancellationToken cancellationToken) =>
        await db.Database.ExecuteSqlAsync($"""
            UPDATE search_chunks c SET results = {Optimizer.ToJson(runs)}::jsonb, heartbeat_at = now() FROM backtests b, jobs j
            WHERE c.job_id = {claim.JobId} AND c.chunk = {claim.Chunk} AND c.token = {claim.Token} AND c.results IS NULL
              AND b.job_id = c.job_id AND b.epoch = c.epoch AND j.id = c.job_id AND j.status = 'running'
            """, cancellationToken) == 1;

    /// <summary>The run's trials done so far, and its chunks not done yet; throws when the search no longer runs under this run (cancelled, failed, taken over).</summary>
    public async Task<(int Trials, int ChunksLeft)> DoneAsync(BacktestJobs.Run run, CancellationToken cancellationToken)
    {
        var done = await db.Database.SqlQuery<Done>($"""
            SELECT coalesce(sum(c.trial_count) FILTER (WHERE c.results IS NOT NULL), 0)::int AS "Trials", count(*) FILTER (WHERE c.results IS NULL)::int AS "Left"
            FROM search_chunks c JOIN backtests b ON b.job_id = c.job_id AND b.epoch = c.epoch JOIN jobs j ON j.id = c.job_id AND j.status = 'running'
            WHERE c.job_id = {run.JobId} AND c.epoch = {run.Epoch} HAVING count(*) > 0
            """).ToListAsync(cancellationToken);
        if (done.Count == 0) throw new OperationCanceledException($"search {run.JobId}: no longer running under this run (cancelled, failed or taken over)");
        return (done[0].Trials, done[0].Left);
    }

    private sealed record Done(int Trials, int Left);

    /// <summary>Every trial run of the run's chunks (all done).</summary>
    public async Task<List<TrialRun>> ResultsAsync(BacktestJobs.Run run, CancellationToken cancellationToken)
    {
        var results = await db.SearchChunks.AsNoTracking().Where(c => c.JobId == run.JobId && c.Epoch == run.Epoch).OrderBy(c => c.Chunk)
            .Select(c => c.Results).ToListAsync(cancellationToken);
        return [.. results.SelectMany(r => Optimizer.FromJson(r ?? throw new InvalidOperationException($"search {run.JobId}: a chunk is not done")))];
    }

    /// <summary>The search's backtest row and plan, as the Worker that holds it wrote them.</summary>
    public async Task<(Backtest Backtest, SearchPlan Plan)> SearchOfAsync(Claim claim, CancellationToken cancellationToken)
    {
        var backtest = await db.Backtests.AsNoTracking().FirstAsync(b => b.JobId == claim.JobId, cancellationToken);
        return (backtest, SearchPlan.FromJson(backtest.SearchPlan ?? throw new InvalidOperationException($"search {claim.JobId} has no plan")));
    }

    /// <summary>The context's own connection, open.</summary>
    public async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open) await connection.OpenAsync(cancellationToken);
        return connection;
    }
}
