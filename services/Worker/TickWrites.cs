using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Paper;
using TradingBots.Strategies;

namespace TradingBots.Worker;

/// <summary>
/// A tick's writes for a whole batch of bots, each a transaction of a few set-based statements whatever the number of
/// bots and trades (the amounts are computed here, by <see cref="PaperRules"/>; the database only stores them), with
/// their events added to the outbox by one COPY:
/// <list type="bullet">
/// <item><see cref="MarkAsync"/>: every open trade of the batch marked (unrealized PnL and pnl, one trade.updated each) and
/// one portfolio snapshot per bot (one portfolio.snapshot each);</item>
/// <item><see cref="ProgressAsync"/>: every running job's progress and message (one job.progress each).</item>
/// </list>
/// </summary>
public sealed class TickWrites(TradingDbContext db, IOptions<PaperOptions> paper)
{
    /// <summary>An open trade of a bot of the batch, with what marking it needs beyond what its strategy sees.</summary>
    public sealed record Held(long BotId, OpenTrade Trade, decimal RealizedPnlQuote);

    /// <summary>The batch's open trades, oldest first per bot: read once per tick, for the prices to ask, the marks and the strategies.</summary>
    public async Task<IReadOnlyList<Held>> OpenTradesAsync(IReadOnlyList<long> bots, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken);
        var held = new List<Held>();
        await using var select = new NpgsqlCommand("""
            SELECT id, bot_id, symbol, amount, price, cost_basis_quote, fees_paid_quote, realized_pnl_quote FROM trades
            WHERE bot_id = ANY(@bots) AND status = 'open' ORDER BY bot_id, created_at, id
            """, connection);
        select.Parameters.AddWithValue("bots", bots.ToArray());
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            held.Add(new(reader.GetInt64(1), new OpenTrade(reader.GetInt64(0), reader.GetString(2), reader.GetDecimal(3), reader.GetDecimal(4),
                reader.GetDecimal(5), reader.GetDecimal(6)), reader.GetDecimal(7)));
        return held;
    }

    /// <summary>
    /// Marks the batch's open trades (<see cref="OpenTradesAsync"/>) at the tick's prices (a symbol without one: the
    /// trade's own fill price) and returns each bot's open trades for its strategy. A trade a concurrent order changed
    /// since it was read (closed, or its amount moved) is left to the next tick, and no event goes out for it.
    /// </summary>
    public async Task<IReadOnlyDictionary<long, List<OpenTrade>>> MarkAsync(IReadOnlyList<Bot> bots, IReadOnlyList<Held> held,
        IReadOnlyDictionary<string, decimal> mark, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var ids = bots.Select(b => b.Id).ToArray();

        var open = bots.ToDictionary(b => b.Id, _ => new List<OpenTrade>());
        var marked = new List<(long Id, long BotId, string Symbol, decimal Price, decimal Amount, decimal Unrealized, decimal Pnl)>(held.Count);
        foreach (var (botId, trade, realized) in held)
        {
            open[botId].Add(trade);
            var price = mark.TryGetValue(trade.Symbol, out var at) ? at : trade.EntryPrice; // never filled elsewhere: its own fill
            var unrealized = PaperRules.Unrealized(trade.Qty, price, trade.CostBasisQuote, trade.FeesPaidQuote);
            marked.Add((trade.TradeId, botId, trade.Symbol, price, trade.Qty, unrealized, realized + unrealized));
        }

        var cash = new Dictionary<long, decimal>(ids.Length);
        await using (var select = new NpgsqlCommand("SELECT bot_id, cash FROM paper_accounts WHERE bot_id = ANY(@bots)", connection))
        {
            select.Parameters.AddWithValue("bots", ids);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) cash[reader.GetInt64(0)] = reader.GetDecimal(1);
        }

        var updated = new HashSet<long>(marked.Count);
        await using (var update = new NpgsqlCommand("""
            UPDATE trades t SET unrealized_pnl_quote = u.unrealized, pnl = u.pnl
            FROM unnest(@ids, @amounts, @unrealized, @pnl) AS u(id, amount, unrealized, pnl)
            WHERE t.id = u.id AND t.status = 'open' AND t.amount = u.amount
            RETURNING t.id
            """, connection))
        {
            update.Parameters.Add(Array("ids", NpgsqlDbType.Bigint, marked.Select(m => m.Id)));
            update.Parameters.Add(Array("amounts", NpgsqlDbType.Numeric, marked.Select(m => m.Amount)));
            update.Parameters.Add(Array("unrealized", NpgsqlDbType.Numeric, marked.Select(m => m.Unrealized)));
            update.Parameters.Add(Array("pnl", NpgsqlDbType.Numeric, marked.Select(m => m.Pnl)));
            await using var reader = await update.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) updated.Add(reader.GetInt64(0));
        }

        // Per bot, in the order of its trades: their trade.updated, then its portfolio.snapshot.
        var events = new List<(string, string)>(marked.Count + bots.Count);
        var snapshots = new List<PortfolioSnapshotEvent>(bots.Count);
        var byBot = marked.ToLookup(m => m.BotId);
        foreach (var bot in bots)
        {
            var positionsValue = 0m;
            foreach (var trade in byBot[bot.Id])
            {
                positionsValue += PaperRules.Value(trade.Amount, trade.Price);
                if (updated.Contains(trade.Id))
                    events.Add((EventTypes.TradeUpdated, Outbox.Payload(new TradeUpdated(bot.Id, trade.Id, trade.Symbol, trade.Price, trade.Unrealized, now))));
            }
            var botCash = cash.TryGetValue(bot.Id, out var c) ? c : PaperRules.StartingCash(bot.Knobs, paper.Value.StartingCash);
            var snapshot = new PortfolioSnapshotEvent(bot.Id, botCash + positionsValue, botCash, positionsValue, now);
            snapshots.Add(snapshot);
            events.Add((EventTypes.PortfolioSnapshot, Outbox.Payload(snapshot)));
        }
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO portfolio_snapshots (bot_id, equity, cash, positions_value, "timestamp")
            SELECT bot_id, equity, cash, positions_value, @now FROM unnest(@bots, @equity, @cash, @positions) AS s(bot_id, equity, cash, positions_value)
            """, connection))
        {
            insert.Parameters.Add(Array("bots", NpgsqlDbType.Bigint, snapshots.Select(s => s.BotId!.Value)));
            insert.Parameters.Add(Array("equity", NpgsqlDbType.Numeric, snapshots.Select(s => s.Equity)));
            insert.Parameters.Add(Array("cash", NpgsqlDbType.Numeric, snapshots.Select(s => s.Cash)));
            insert.Parameters.Add(Array("positions", NpgsqlDbType.Numeric, snapshots.Select(s => s.PositionsValue)));
            insert.Parameters.AddWithValue("now", now);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await Outbox.AddRangeAsync(connection, events, now, cancellationToken);
        await WakeAsync(connection, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return open;
    }

    /// <summary>A running job's progress after a tick.</summary>
    public sealed record Progress(long BotId, long JobId, int Percent, string Message);

    /// <summary>Every running job of the list gets its progress, message and job.progress (a job that ended meanwhile: neither).</summary>
    public async Task ProgressAsync(IReadOnlyList<Progress> jobs, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (jobs.Count == 0) return;
        var connection = await OpenAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var updated = new HashSet<long>(jobs.Count);
        await using (var update = new NpgsqlCommand("""
            UPDATE jobs j SET progress = u.progress, message = u.message, updated_at = @now
            FROM unnest(@ids, @progress, @messages) AS u(id, progress, message)
            WHERE j.id = u.id AND j.status = 'running'
            RETURNING j.id
            """, connection))
        {
            update.Parameters.Add(Array("ids", NpgsqlDbType.Bigint, jobs.Select(j => j.JobId)));
            update.Parameters.Add(Array("progress", NpgsqlDbType.Integer, jobs.Select(j => j.Percent)));
            update.Parameters.Add(Array("messages", NpgsqlDbType.Text, jobs.Select(j => j.Message)));
            update.Parameters.AddWithValue("now", now);
            await using var reader = await update.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) updated.Add(reader.GetInt64(0));
        }
        await Outbox.AddRangeAsync(connection, jobs.Where(j => updated.Contains(j.JobId))
            .Select(j => (EventTypes.JobProgress, Outbox.Payload(new JobProgress(j.BotId, j.JobId, JobStatus.Running, j.Percent, now)))), now, cancellationToken);
        await WakeAsync(connection, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        return (NpgsqlConnection)db.Database.GetDbConnection();
    }

    private static async Task WakeAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var wake = new NpgsqlCommand(Outbox.WakeSql, connection);
        await wake.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlParameter Array<T>(string name, NpgsqlDbType type, IEnumerable<T> values) =>
        new(name, NpgsqlDbType.Array | type) { Value = values.ToArray() };
}
