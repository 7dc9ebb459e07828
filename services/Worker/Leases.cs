using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using TradingBots.Paper;

namespace TradingBots.Worker;

/// <summary>A claim of a bot's tick: the lease's fencing token (<see cref="Epoch"/>) that every write of the tick is conditional on.</summary>
public sealed record Fence(long BotId, long JobId, long Epoch);

/// <summary>The bot's lease was taken over (its token moved on) while this Worker's tick ran: the tick writes nothing more.</summary>
public sealed class LeaseLostException(long botId) : Exception($"bot {botId}: its lease was taken over; this tick writes nothing more");

/// <summary>
/// The fencing of a bot's tick in SQL, one rule for every write: a write goes ahead only for the bots whose lease still
/// has the claim's token, holding the lease row (FOR SHARE) until it commits, so a takeover (which takes the row FOR UPDATE
/// SKIP LOCKED and moves the token) comes either wholly before the write (the write is refused) or after it.
/// Rows are always locked in bot id order, so two fenced statements of one Worker never deadlock.
/// </summary>
public static class Leases
{
    /// <summary>Of these claims, the bots whose lease is still held: locks those rows for the rest of the transaction.</summary>
    public static async Task<HashSet<long>> HeldAsync(NpgsqlConnection connection, IEnumerable<Fence> fences, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand("""
            SELECT l.bot_id FROM bot_leases l JOIN unnest(@bots, @epochs) AS f(bot_id, epoch) ON l.bot_id = f.bot_id AND l.epoch = f.epoch
            ORDER BY l.bot_id FOR SHARE OF l
            """, connection);
        AddFences(select, fences);
        var held = new HashSet<long>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) held.Add(reader.GetInt64(0));
        return held;
    }

    /// <summary>Moves the expiry of the leases still held by these claims forward by two tick intervals, on the database's clock.</summary>
    public static async Task RenewAsync(NpgsqlConnection connection, IEnumerable<Fence> fences, CancellationToken cancellationToken)
    {
        await using var renew = new NpgsqlCommand("""
            UPDATE bot_leases l SET expires_at = now() + make_interval(secs => 2 * l.tick_seconds)
            FROM (SELECT h.bot_id FROM bot_leases h JOIN unnest(@bots, @epochs) AS f(bot_id, epoch) ON h.bot_id = f.bot_id AND h.epoch = f.epoch
                  ORDER BY h.bot_id FOR UPDATE OF h) held
            WHERE l.bot_id = held.bot_id
            """, connection);
        AddFences(renew, fences);
        await renew.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Records, per run and symbol, the newest candle judged (never moving it back).</summary>
    public const string JudgedUpsert = """
        ON CONFLICT (job_id, symbol) DO UPDATE SET open_time = greatest(judged_candles.open_time, excluded.open_time)
        """;

    private static void AddFences(NpgsqlCommand command, IEnumerable<Fence> fences)
    {
        var list = fences as IReadOnlyCollection<Fence> ?? [.. fences];
        command.Parameters.Add(new NpgsqlParameter("bots", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = list.Select(f => f.BotId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("epochs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = list.Select(f => f.Epoch).ToArray() });
    }
}

/// <summary>The fence alone, for an order no candle decided (a stop this tick's price reached): it commits only while the lease is the tick's.</summary>
public sealed record LeaseGuard(Fence Fence) : IOrderGuard
{
    public NpgsqlBatchCommand Statement()
    {
        var held = new NpgsqlBatchCommand("SELECT 1 FROM bot_leases WHERE bot_id = @bot AND epoch = @epoch FOR SHARE");
        held.Parameters.AddWithValue("bot", Fence.BotId);
        held.Parameters.AddWithValue("epoch", Fence.Epoch);
        return held;
    }

    public Exception Refused() => new LeaseLostException(Fence.BotId);
}

/// <summary>
/// A strategy's order under its tick's claim: in the order's transaction, the lease is checked to be still this claim's
/// (else <see cref="LeaseLostException"/>, and nothing of the order is written) and the candle it was decided on is
/// recorded as judged, so a takeover never judges that candle again.
/// </summary>
public sealed record CandleGuard(Fence Fence, string Symbol, long CandleOpenTime) : IOrderGuard
{
    public NpgsqlBatchCommand Statement()
    {
        var judge = new NpgsqlBatchCommand($"""
            WITH held AS (SELECT bot_id FROM bot_leases WHERE bot_id = @bot AND epoch = @epoch FOR SHARE)
            INSERT INTO judged_candles (job_id, symbol, open_time) SELECT @job, @symbol, @open FROM held
            {Leases.JudgedUpsert}
            RETURNING 1
            """);
        judge.Parameters.AddWithValue("bot", Fence.BotId);
        judge.Parameters.AddWithValue("epoch", Fence.Epoch);
        judge.Parameters.AddWithValue("job", Fence.JobId);
        judge.Parameters.AddWithValue("symbol", Symbol);
        judge.Parameters.AddWithValue("open", CandleOpenTime);
        return judge;
    }

    public Exception Refused() => new LeaseLostException(Fence.BotId);
}

/// <summary>
/// Renews the leases of a batch while its tick runs (every two thirds of the shortest tick interval, on a connection of its
/// own), so a tick slower than its lease keeps it; a Worker that stops renewing (dead, or cut off from the database) loses
/// its bots after two tick intervals, and its fenced writes are refused from then on.
/// </summary>
public sealed class LeaseKeeper : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private LeaseKeeper(IServiceScopeFactory scopes, IReadOnlyList<Fence> fences, TimeSpan every, TimeProvider time, ILogger logger) =>
        _loop = RenewAsync(scopes, fences, every, time, logger);

    public static LeaseKeeper Start(IServiceScopeFactory scopes, IReadOnlyList<BotScheduler.Due> due, TimeProvider time, ILogger logger) =>
        new(scopes, [.. due.Select(d => d.Fence)], TimeSpan.FromSeconds(due.Min(d => d.TickSeconds) * 2.0 / 3), time, logger);

    private async Task RenewAsync(IServiceScopeFactory scopes, IReadOnlyList<Fence> fences, TimeSpan every, TimeProvider time, ILogger logger)
    {
        using var timer = new PeriodicTimer(every, time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    var db = scope.ServiceProvider.GetRequiredService<Data.TradingDbContext>();
                    await db.Database.OpenConnectionAsync(_stop.Token);
                    await Leases.RenewAsync((NpgsqlConnection)db.Database.GetDbConnection(), fences, _stop.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning("Leases of {Bots} bot(s) not renewed: {Message}", fences.Count, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
