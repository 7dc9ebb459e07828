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
/// <item><see cref="ProgressAsync"/>: every running job's progress and message (one job.progress each), and the candles
/// each judged.</item>
/// </list>
/// Each is fenced (<see cref="Leases.HeldAsync"/>): only the bots whose lease still has the tick's token are written.
/// </summary>
public sealed class TickWrites(TradingDbContext db, OutboxWaker waker, IOptions<PaperOptions> paper)
{
    /// <summary>An open trade of a bot of the batch, with what marking it needs beyond what its strategy sees.</summary>
    public sealed record Held(long BotId, OpenTrade Trade, decimal RealizedPnlQuote);

    /// <summary>The symbols these bots hold open trades in: what a tick asks prices of beside the bots' own symbols.</summary>
    public async Task<IReadOnlyList<string>> OpenSymbolsAsync(IReadOnlyList<long> bots, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken);
        await using var select = new NpgsqlCommand("SELECT DISTINCT symbol FROM trades WHERE bot_id = ANY(@bots) AND status = 'open'", connection);
        select.Parameters.AddWithValue("bots", bots.ToArray());
        var symbols = new List<string>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) symbols.Add(reader.GetString(0));
        return symbols;
    }

    /// <summary>The open trades of these bots, oldest first per bot, for a tick's marks and strategies.</summary>
    private async Task<IReadOnlyList<Held>> OpenTradesAsync(IReadOnlyList<long> bots, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken);
        var held = new List<(Held Trade, DateTimeOffset Created)>();
        await using (var select = new NpgsqlCommand("""
            SELECT id, bot_id, symbol, amount, price, cost_basis_quote, fees_paid_quote, realized_pnl_quote, created_at FROM trades
            WHERE bot_id = ANY(@bots) AND status = 'open'
            """, connection))
        {
            select.Parameters.AddWithValue("bots", bots.ToArray());
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
                held.Add((new(reader.GetInt64(1), new OpenTrade(reader.GetInt64(0), reader.GetString(2), reader.GetDecimal(3), reader.GetDecimal(4),
                    reader.GetDecimal(5), reader.GetDecimal(6)), reader.GetDecimal(7)), reader.GetFieldValue<DateTimeOffset>(8)));
        }
        // Sorted here, not by the database: a hundred thousand rows overflow its sort memory and it sorts on disk.
        held.Sort((a, b) => (a.Trade.BotId, a.Created, a.Trade.Trade.TradeId).CompareTo((b.Trade.BotId, b.Created, b.Trade.Trade.TradeId)));
        return [.. held.Select(h => h.Trade)];
    }

    /// <summary>
    /// Marks the open trades of the batch's bots at the tick's prices (a symbol without one: the trade's own fill price)
    /// and returns each bot's open trades for its strategy, for the bots whose lease is still the tick's (the others get
    /// nothing written and are left out). Each bot's cash and open trades are read under its account's lock (FOR SHARE:
    /// an order of that account waits, or is all in), so its snapshot counts no order twice or not at all. A trade a
    /// concurrent order changed since it was read (closed, or its amount moved) is left to the next tick, and no event
    /// goes out for it.
    /// </summary>
    public async Task<IReadOnlyDictionary<long, List<OpenTrade>>> MarkAsync(IReadOnlyList<(Bot Bot, Fence Fence)> batch,
        IReadOnlyDictionary<string, decimal> mark, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var leased = await Leases.HeldAsync(connection, batch.Select(b => b.Fence), cancellationToken);
        var bots = batch.Where(b => leased.Contains(b.Bot.Id)).Select(b => b.Bot).ToList();
        var ids = bots.Select(b => b.Id).ToArray();

        var cash = new Dictionary<long, decimal>(ids.Length);
        await using (var select = new NpgsqlCommand("SELECT bot_id, cash FROM paper_accounts WHERE bot_id = ANY(@bots) ORDER BY bot_id FOR SHARE", connection))
        {
            select.Parameters.AddWithValue("bots", ids);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) cash[reader.GetInt64(0)] = reader.GetDecimal(1);
        }
        var held = await OpenTradesAsync(ids, cancellationToken);

        var open = bots.ToDictionary(b => b.Id, _ => new List<OpenTrade>());
        var marked = new List<(long Id, long BotId, string Symbol, decimal Price, decimal Amount, decimal Unrealized, decimal Pnl)>(held.Count);
        foreach (var (botId, trade, realized) in held)
        {
            open[botId].Add(trade);
            var price = mark.TryGetValue(trade.Symbol, out var at) ? at : trade.EntryPrice; // never filled elsewhere: its own fill
            var unrealized = PaperRules.Unrealized(trade.Qty, price, trade.CostBasisQuote, trade.FeesPaidQuote);
            marked.Add((trade.TradeId, botId, trade.Symbol, price, trade.Qty, unrealized, realized + unrealized));
        }

        // The database writes the marks while the events are written here: for every mark (under the accounts' locks each
        // is written), and again for those written, should a trade have changed after all.
        var updating = UpdateMarksAsync(connection, marked.Select(m => (m.Id, m.Amount, m.Unrealized, m.Pnl)), cancellationToken);
        var (events, snapshots) = Events(_ => true);
        var updated = await updating;
        if (updated.Count < marked.Count) (events, snapshots) = Events(updated.Contains);

        // Per bot, in the order of its trades: their trade.updated, then its portfolio.snapshot.
        (List<(string, string)>, List<PortfolioSnapshotEvent>) Events(Func<long, bool> written)
        {
            var events = new List<(string, string)>(marked.Count + bots.Count);
            var snapshots = new List<PortfolioSnapshotEvent>(bots.Count);
            var byBot = marked.ToLookup(m => m.BotId);
            foreach (var bot in bots)
            {
                var positionsValue = 0m;
                foreach (var trade in byBot[bot.Id])
                {
                    positionsValue += PaperRules.Value(trade.Amount, trade.Price);
                    if (written(trade.Id))
                        events.Add((EventTypes.TradeUpdated, Outbox.Payload(new TradeUpdated(bot.Id, trade.Id, trade.Symbol, trade.Price, trade.Unrealized, now))));
                }
                var botCash = cash.TryGetValue(bot.Id, out var c) ? c : PaperRules.StartingCash(bot.Knobs, paper.Value.StartingCash);
                var snapshot = new PortfolioSnapshotEvent(bot.Id, botCash + positionsValue, botCash, positionsValue, now);
                snapshots.Add(snapshot);
                events.Add((EventTypes.PortfolioSnapshot, Outbox.Payload(snapshot)));
            }
            return (events, snapshots);
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
        await transaction.CommitAsync(cancellationToken);
        waker.Wake();
        return open;
    }

    /// <summary>
    /// Writes marks of open trades (unrealized PnL and pnl) in one statement; a trade closed or resized since it was read
    /// is left alone, and so, when <paramref name="changedOnly"/>, is one whose mark is the one it has. The ids of the
    /// trades written.
    /// </summary>
    public static async Task<HashSet<long>> UpdateMarksAsync(NpgsqlConnection connection,
        IEnumerable<(long Id, decimal Amount, decimal Unrealized, decimal Pnl)> marks, CancellationToken cancellationToken, bool changedOnly = false)
    {
        var list = marks as IReadOnlyCollection<(long Id, decimal Amount, decimal Unrealized, decimal Pnl)> ?? [.. marks];
        var updated = new HashSet<long>(list.Count);
        await using var update = new NpgsqlCommand("""
            UPDATE trades t SET unrealized_pnl_quote = u.unrealized, pnl = u.pnl
            FROM unnest(@ids, @amounts, @unrealized, @pnl) AS u(id, amount, unrealized, pnl)
            WHERE t.id = u.id AND t.status = 'open' AND t.amount = u.amount AND (NOT @changed_only OR t.unrealized_pnl_quote <> u.unrealized)
            RETURNING t.id
            """, connection);
        update.Parameters.AddWithValue("changed_only", changedOnly);
        update.Parameters.Add(Array("ids", NpgsqlDbType.Bigint, list.Select(m => m.Id)));
        update.Parameters.Add(Array("amounts", NpgsqlDbType.Numeric, list.Select(m => m.Amount)));
        update.Parameters.Add(Array("unrealized", NpgsqlDbType.Numeric, list.Select(m => m.Unrealized)));
        update.Parameters.Add(Array("pnl", NpgsqlDbType.Numeric, list.Select(m => m.Pnl)));
        await using var reader = await update.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) updated.Add(reader.GetInt64(0));
        return updated;
    }

    /// <summary>The newest candle judged per run and symbol, for the runs of the batch.</summary>
    public async Task<IReadOnlyDictionary<(long JobId, string Symbol), long>> JudgedAsync(IReadOnlyList<long> jobs, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken);
        await using var select = new NpgsqlCommand("SELECT job_id, symbol, open_time FROM judged_candles WHERE job_id = ANY(@jobs)", connection);
        select.Parameters.AddWithValue("jobs", jobs.ToArray());
        var judged = new Dictionary<(long, string), long>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) judged[(reader.GetInt64(0), reader.GetString(1))] = reader.GetInt64(2);
        return judged;
    }

    /// <summary>A running job's progress after a tick, and the newest candle it judged per symbol.</summary>
    public sealed record Progress(Fence Fence, int Percent, string Message, IReadOnlyList<(string Symbol, long OpenTime)> Judged);

    /// <summary>
    /// Every running job of the list whose lease is still the tick's gets its progress, message and job.progress, and its
    /// judged candles recorded (a job that ended meanwhile, or whose lease was taken over: none of these).
    /// </summary>
    public async Task ProgressAsync(IReadOnlyList<Progress> jobs, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (jobs.Count == 0) return;
        var connection = await OpenAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var leased = await Leases.HeldAsync(connection, jobs.Select(j => j.Fence), cancellationToken);
        jobs = [.. jobs.Where(j => leased.Contains(j.Fence.BotId))];
        var updated = new HashSet<long>(jobs.Count);
        await using (var update = new NpgsqlCommand("""
            UPDATE jobs j SET progress = u.progress, message = u.message, updated_at = @now
            FROM unnest(@ids, @progress, @messages) AS u(id, progress, message)
            WHERE j.id = u.id AND j.status = 'running'
            RETURNING j.id
            """, connection))
        {
            update.Parameters.Add(Array("ids", NpgsqlDbType.Bigint, jobs.Select(j => j.Fence.JobId)));
            update.Parameters.Add(Array("progress", NpgsqlDbType.Integer, jobs.Select(j => j.Percent)));
            update.Parameters.Add(Array("messages", NpgsqlDbType.Text, jobs.Select(j => j.Message)));
            update.Parameters.AddWithValue("now", now);
            await using var reader = await update.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) updated.Add(reader.GetInt64(0));
        }
        var judged = jobs.SelectMany(j => j.Judged.Select(c => (j.Fence.JobId, c.Symbol, c.OpenTime))).ToList();
        await using (var judge = new NpgsqlCommand($"""
            INSERT INTO judged_candles (job_id, symbol, open_time) SELECT * FROM unnest(@jobs, @symbols, @opens)
            {Leases.JudgedUpsert}
            """, connection))
        {
            judge.Parameters.Add(Array("jobs", NpgsqlDbType.Bigint, judged.Select(j => j.JobId)));
            judge.Parameters.Add(Array("symbols", NpgsqlDbType.Text, judged.Select(j => j.Symbol)));
            judge.Parameters.Add(Array("opens", NpgsqlDbType.Bigint, judged.Select(j => j.OpenTime)));
            await judge.ExecuteNonQueryAsync(cancellationToken);
        }
        await Outbox.AddRangeAsync(connection, jobs.Where(j => updated.Contains(j.Fence.JobId))
            .Select(j => (EventTypes.JobProgress, Outbox.Payload(new JobProgress(j.Fence.BotId, j.Fence.JobId, JobStatus.Running, j.Percent, now)))), now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        waker.Wake();
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        return (NpgsqlConnection)db.Database.GetDbConnection();
    }

    private static NpgsqlParameter Array<T>(string name, NpgsqlDbType type, IEnumerable<T> values) =>
        new(name, NpgsqlDbType.Array | type) { Value = values.ToArray() };
}
