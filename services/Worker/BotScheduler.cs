using Microsoft.EntityFrameworkCore;
using Npgsql;
using TradingBots.Data;

namespace TradingBots.Worker;

/// <summary>
/// The bot loop's clock, in every Worker: several times a second it claims the bots whose tick is due and whose lease
/// is its own or has expired (FOR UPDATE SKIP LOCKED, so two Workers never claim one bot's tick), moves their next tick
/// and lease forward by the lease's tick_seconds (a typed column, written from the validated knob), gives each claim a new
/// fencing token, and ticks them together while <see cref="LeaseKeeper"/> renews their leases. A Worker that dies stops
/// renewing: its bots' leases expire after two tick intervals and the others take them (every time on the database's
/// clock). Every few seconds it also takes queued jobs whose message never came (RabbitMQ was down when the bot started).
/// </summary>
public sealed class BotScheduler(IServiceScopeFactory scopes, WorkerIdentity me, TimeProvider time, ILogger<BotScheduler> logger) : BackgroundService
{
    private static readonly TimeSpan Pass = TimeSpan.FromMilliseconds(250), SweepEvery = TimeSpan.FromSeconds(5);
    private const int MaxBotsPerPass = 2000;

    public sealed record Due(long BotId, long JobId, int Ticks, long Epoch, int TickSeconds)
    {
        public Fence Fence => new(BotId, JobId, Epoch);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var swept = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var due = await ClaimDueAsync(scope.ServiceProvider.GetRequiredService<TradingDbContext>(), stoppingToken);
                if (due.Count > 0)
                {
                    await using (LeaseKeeper.Start(scopes, due, time, logger))
                        await scope.ServiceProvider.GetRequiredService<BotTicker>().TickAsync(due, stoppingToken);
                }
                if (time.GetUtcNow() - swept > SweepEvery)
                {
                    await SweepAsync(scope.ServiceProvider, stoppingToken);
                    swept = time.GetUtcNow();
                }
                if (due.Count > 0) continue;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning("Bot scheduler: {Error} ({Message}); going on", ex.GetType().Name, ex.Message);
            }
            try { await Task.Delay(Pass, time, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task<List<Due>> ClaimDueAsync(TradingDbContext db, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open) await connection.OpenAsync(cancellationToken);
        await using var claim = new NpgsqlCommand($"""
            WITH due AS (
                SELECT l.bot_id FROM bot_leases l
                WHERE l.next_tick_at <= now() AND (l.owner = @me OR l.expires_at < now())
                ORDER BY l.next_tick_at LIMIT @max
                FOR UPDATE SKIP LOCKED)
            UPDATE bot_leases l
            SET owner = @me, ticks = l.ticks + 1, epoch = nextval('{TradingDbContext.FencingTokens}'),
                next_tick_at = now() + make_interval(secs => l.tick_seconds), expires_at = now() + make_interval(secs => 2 * l.tick_seconds)
            FROM due
            WHERE l.bot_id = due.bot_id
            RETURNING l.bot_id, l.job_id, l.ticks, l.epoch, l.tick_seconds
            """, connection);
        claim.Parameters.AddWithValue("me", me.Name);
        claim.Parameters.AddWithValue("max", MaxBotsPerPass);
        var due = new List<Due>();
        await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) due.Add(new Due(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetInt32(4)));
        return due;
    }

    private static async Task SweepAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var db = services.GetRequiredService<TradingDbContext>();
        var lost = await db.Jobs.AsNoTracking()
            .Where(j => j.Task == JobStatus.BotRunTask && j.Status == JobStatus.Queued && j.BotId != null
                && j.CreatedAt < services.GetRequiredService<TimeProvider>().GetUtcNow() - SweepEvery)
            .OrderBy(j => j.Id).Select(j => new { j.Id, BotId = j.BotId!.Value }).Take(100).ToListAsync(cancellationToken);
        var runs = services.GetRequiredService<BotRuns>();
        foreach (var job in lost) await runs.ClaimAsync(job.Id, job.BotId, cancellationToken);
    }
}
