using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Paper;

namespace TradingBots.Worker;

public sealed class MarksOptions
{
    public const string Section = "Marks";

    /// <summary>How often the open trades no bot's tick marks are marked.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Marks, every <see cref="MarksOptions.Interval"/>, the open trades no bot's tick marks: manual trades (no bot) and those
/// of bots not running (<see cref="IdleMarks"/>). Every Worker runs it; one at a time marks.
/// </summary>
public sealed class IdleMarker(IServiceScopeFactory scopes, IOptions<MarksOptions> options, TimeProvider time, ILogger<IdleMarker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await scope.ServiceProvider.GetRequiredService<IdleMarks>().MarkAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning("Marking manual and idle trades: {Error} ({Message}); next time", ex.GetType().Name, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}

/// <summary>
/// One pass of marking what no tick marks: each open trade of the manual account or of a bot without a lease whose
/// unrealized PnL moved gets it at the live price (a symbol the exchange no longer lists: its last fill, as GET /portfolio
/// values it) and its trade.updated (bot_id null for a manual one); when a manual trade moved, the manual account gets a
/// portfolio snapshot and its portfolio.snapshot (bot_id null), its cash and positions read under its lock, so no order
/// counts twice or not at all. A price that did not move writes and emits nothing. One transaction; among several
/// Workers, the one holding the transaction's advisory lock marks, the others skip.
/// </summary>
public sealed class IdleMarks(TradingDbContext db, OutboxWaker waker, MarkPrices marks, TimeProvider time)
{
    /// <summary>The advisory lock of a marking pass (any number the other locks of this database do not use).</summary>
    private const long PassLock = 0x4d41524b53; // "MARKS"

    /// <summary>Marks one pass; the number of trades written (0 when another Worker holds the pass).</summary>
    public async Task<int> MarkAsync(CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var idle = await IdleTradesAsync(connection, manualOnly: false, cancellationToken);
        if (idle.Count == 0) return 0;
        var prices = await marks.GetAsync([.. idle.Select(t => t.Symbol).Distinct()], cancellationToken);

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await using (var pass = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock(@lock)", connection))
        {
            pass.Parameters.AddWithValue("lock", PassLock);
            if (await pass.ExecuteScalarAsync(cancellationToken) is not true) return 0;
        }
        // The manual account's lock first, as an order takes it (account, then its trades): its orders wait for this pass.
        decimal? manualCash = null;
        if (idle.Any(t => t.BotId is null))
        {
            await using var cash = new NpgsqlCommand("SELECT cash FROM paper_accounts WHERE key = 'manual' FOR UPDATE", connection);
            manualCash = await cash.ExecuteScalarAsync(cancellationToken) as decimal?;
        }
        var now = time.GetUtcNow();
        decimal PriceOf(Idle trade) => prices.TryGetValue(trade.Symbol, out var mark) ? mark.Price : trade.EntryPrice;
        var marked = idle.Select(t => (t.Id, t.Amount, Unrealized: PaperRules.Unrealized(t.Amount, PriceOf(t), t.CostBasisQuote, t.FeesPaidQuote), t)).ToList();
        var updated = await TickWrites.UpdateMarksAsync(connection, marked.Select(m => (m.Id, m.Amount, m.Unrealized, m.t.RealizedPnlQuote + m.Unrealized)), cancellationToken,
            changedOnly: true);
        var events = marked.Where(m => updated.Contains(m.Id))
            .Select(m => (EventTypes.TradeUpdated, Outbox.Payload(new TradeUpdated(m.t.BotId, m.Id, m.t.Symbol, PriceOf(m.t), m.Unrealized, now))))
            .ToList();

        // The manual account's snapshot, when one of its trades moved: its cash and open trades as of now, under its lock.
        if (manualCash is { } cashNow && idle.Any(t => t.BotId is null && updated.Contains(t.Id)))
        {
            var positions = (await IdleTradesAsync(connection, manualOnly: true, cancellationToken)).Sum(t => PaperRules.Value(t.Amount, PriceOf(t)));
            var snapshot = new PortfolioSnapshotEvent(null, cashNow + positions, cashNow, positions, now);
            db.PortfolioSnapshots.Add(new PortfolioSnapshot { BotId = null, Equity = snapshot.Equity, Cash = cashNow, PositionsValue = positions, Timestamp = now });
            await db.SaveChangesAsync(cancellationToken);
            events.Add((EventTypes.PortfolioSnapshot, Outbox.Payload(snapshot)));
        }
        await Outbox.AddRangeAsync(connection, events, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        waker.Wake();
        return updated.Count;
    }

    private sealed record Idle(long Id, long? BotId, string Symbol, decimal Amount, decimal EntryPrice, decimal CostBasisQuote, decimal FeesPaidQuote,
        decimal RealizedPnlQuote);

    /// <summary>Open trades of the manual account, and (unless <paramref name="manualOnly"/>) of bots without a lease, oldest first.</summary>
    private static async Task<List<Idle>> IdleTradesAsync(NpgsqlConnection connection, bool manualOnly, CancellationToken cancellationToken)
    {
        await using var select = new NpgsqlCommand("""
            SELECT id, bot_id, symbol, amount, price, cost_basis_quote, fees_paid_quote, realized_pnl_quote FROM trades t
            WHERE t.status = 'open'
              AND (t.bot_id IS NULL OR (NOT @manual_only AND NOT EXISTS (SELECT 1 FROM bot_leases l WHERE l.bot_id = t.bot_id)))
            ORDER BY t.created_at, t.id
            """, connection);
        select.Parameters.AddWithValue("manual_only", manualOnly);
        var trades = new List<Idle>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            trades.Add(new Idle(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetInt64(1), reader.GetString(2), reader.GetDecimal(3),
                reader.GetDecimal(4), reader.GetDecimal(5), reader.GetDecimal(6), reader.GetDecimal(7)));
        }
        return trades;
    }
}
