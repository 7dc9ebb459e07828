using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TradingBots.Data;

namespace TradingBots.Paper;

/// <summary>
/// Accounts marked to market: cash from paper_accounts, open positions at live prices (one market call for
/// every symbol held), equity = cash + positions_value.
/// </summary>
public sealed class Portfolio(TradingDbContext db, PriceSource prices, IOptions<PaperOptions> options)
{
    /// <summary>The manual account and every bot's.</summary>
    public async Task<IReadOnlyList<Account>> GetAllAsync(CancellationToken cancellationToken)
    {
        var bots = await db.Bots.AsNoTracking().OrderBy(b => b.Id).Select(b => new { b.Id, b.Knobs }).ToListAsync(cancellationToken);
        return await MarkAsync([(null, null), .. bots.Select(b => ((long?)b.Id, (string?)b.Knobs))], botId: null, cancellationToken);
    }

    /// <summary>One bot's account, or null when there is no such bot.</summary>
    public async Task<Account?> GetAsync(long botId, CancellationToken cancellationToken)
    {
        var knobs = await db.Bots.Where(b => b.Id == botId).Select(b => b.Knobs).FirstOrDefaultAsync(cancellationToken);
        return knobs is null ? null : (await MarkAsync([(botId, knobs)], botId, cancellationToken))[0];
    }

    private async Task<IReadOnlyList<Account>> MarkAsync(List<(long? BotId, string? Knobs)> accounts, long? botId, CancellationToken cancellationToken)
    {
        // One snapshot for the three reads: an order committing in between must not count twice (cash spent, position not yet seen).
        await using var snapshot = await db.Database.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        var rows = db.PaperAccounts.AsNoTracking();
        var trades = db.Trades.AsNoTracking();
        if (botId is not null)
        {
            rows = rows.Where(a => a.BotId == botId);
            trades = trades.Where(t => t.BotId == botId);
        }
        var opened = await rows.ToDictionaryAsync(a => a.BotId ?? 0, cancellationToken);
        var realized = await trades.GroupBy(t => t.BotId)
            .Select(g => new { BotId = g.Key, Realized = g.Sum(t => t.RealizedPnlQuote) })
            .ToDictionaryAsync(g => g.BotId ?? 0, g => g.Realized, cancellationToken);
        var open = await trades.Where(t => t.Status == TradeStatus.Open).ToListAsync(cancellationToken);
        await snapshot.CommitAsync(cancellationToken);
        var live = await prices.GetPricesAsync([.. open.Select(t => t.Symbol).Distinct()], cancellationToken);

        return [.. accounts.Select(account =>
        {
            var key = account.BotId ?? 0;
            var positions = open.Where(t => t.BotId == account.BotId).GroupBy(t => t.Symbol).OrderBy(g => g.Key).Select(g =>
            {
                var price = live[g.Key];
                var qty = g.Sum(t => t.Amount);
                var cost = g.Sum(t => t.CostBasisQuote);
                var fees = g.Sum(t => t.FeesPaidQuote);
                return new Position(g.Key, qty, cost, fees, price, PaperRules.Value(qty, price), PaperRules.Unrealized(qty, price, cost, fees), g.Count());
            }).ToList();
            // An account that never traded has its starting cash (from the knobs of now).
            var startingCash = opened.TryGetValue(key, out var row) ? row.StartingCash : PaperRules.StartingCash(account.Knobs, options.Value.StartingCash);
            var cash = row?.Cash ?? startingCash;
            var positionsValue = positions.Sum(p => p.Value);
            return new Account(account.BotId, startingCash, cash, positionsValue, cash + positionsValue,
                realized.GetValueOrDefault(key), positions.Sum(p => p.UnrealizedPnlQuote), positions);
        })];
    }
}
