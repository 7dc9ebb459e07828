using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TradingBots.Data;

namespace TradingBots.Paper;

/// <summary>
/// Accounts marked to market: cash from paper_accounts, open positions at live prices (one market call for
/// every symbol held; a symbol no longer listed at its last known price, flagged), equity = cash + positions_value.
/// </summary>
public sealed class Portfolio(TradingDbContext db, MarkPrices prices, IOptions<PaperOptions> options)
{
    /// <summary>
    /// A page of accounts: the manual one first (on the first page, without <paramref name="before"/>), then bots' newest
    /// first, at most <paramref name="limit"/> of them with ids below <paramref name="before"/>; and the before of the next
    /// page (null at the last).
    /// </summary>
    public async Task<(IReadOnlyList<Account> Accounts, long? NextBefore)> GetPageAsync(int limit, long? before, CancellationToken cancellationToken)
    {
        var bots = await db.Bots.AsNoTracking().Where(b => before == null || b.Id < before).OrderByDescending(b => b.Id).Take(limit + 1)
            .Select(b => new Owner(b.Id, b.Knobs, b.Symbols)).ToListAsync(cancellationToken);
        var owners = new List<Owner>(limit + 1);
        if (before is null) owners.Add(new Owner(null, null, null));
        owners.AddRange(bots.Take(limit));
        return (await MarkAsync(owners, cancellationToken), bots.Count > limit ? bots[limit - 1].BotId : null);
    }

    /// <summary>One bot's account, or null when there is no such bot.</summary>
    public async Task<Account?> GetAsync(long botId, CancellationToken cancellationToken)
    {
        var bot = await db.Bots.Where(b => b.Id == botId).Select(b => new Owner(b.Id, b.Knobs, b.Symbols)).FirstOrDefaultAsync(cancellationToken);
        return bot is null ? null : (await MarkAsync([bot], cancellationToken))[0];
    }

    /// <summary>Whose account: the manual one (no bot) or a bot's, with what it would open with.</summary>
    private sealed record Owner(long? BotId, string? Knobs, List<string>? Symbols);

    private async Task<IReadOnlyList<Account>> MarkAsync(List<Owner> accounts, CancellationToken cancellationToken)
    {
        // One snapshot for the three reads: an order committing in between must not count twice (cash spent, position not yet seen).
        await using var snapshot = await db.Database.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        var ids = accounts.Where(a => a.BotId is not null).Select(a => a.BotId).ToList();
        var manual = accounts.Any(a => a.BotId is null);
        var rows = db.PaperAccounts.AsNoTracking().Where(a => ids.Contains(a.BotId) || manual && a.BotId == null);
        var trades = db.Trades.AsNoTracking().Where(t => ids.Contains(t.BotId) || manual && t.BotId == null);
        var opened = await rows.ToDictionaryAsync(a => a.BotId ?? 0, cancellationToken);
        var realized = await trades.GroupBy(t => t.BotId)
            .Select(g => new { BotId = g.Key, Realized = g.Sum(t => t.RealizedPnlQuote) })
            .ToDictionaryAsync(g => g.BotId ?? 0, g => g.Realized, cancellationToken);
        var open = await trades.Where(t => t.Status == TradeStatus.Open).ToListAsync(cancellationToken);
        await snapshot.CommitAsync(cancellationToken);
        var marks = await prices.GetAsync([.. open.Select(t => t.Symbol).Distinct()], cancellationToken);

        return [.. accounts.Select(account =>
        {
            var key = account.BotId ?? 0;
            var positions = open.Where(t => t.BotId == account.BotId).GroupBy(t => t.Symbol).OrderBy(g => g.Key).Select(g =>
            {
                var (price, stale) = marks[g.Key];
                var qty = g.Sum(t => t.Amount);
                var cost = g.Sum(t => t.CostBasisQuote);
                var fees = g.Sum(t => t.FeesPaidQuote);
                return new Position(g.Key, qty, cost, fees, price, stale, PaperRules.Value(qty, price), PaperRules.Unrealized(qty, price, cost, fees), g.Count());
            }).ToList();
            // An account that never traded has the starting cash and currency it would open with now.
            var startingCash = opened.TryGetValue(key, out var row) ? row.StartingCash : PaperRules.StartingCash(account.Knobs, options.Value.StartingCash);
            var currency = row?.QuoteCurrency ?? PaperRules.AccountCurrency(account.Symbols, options.Value.QuoteCurrency);
            var cash = row?.Cash ?? startingCash;
            var positionsValue = positions.Sum(p => p.Value);
            return new Account(account.BotId, currency, startingCash, cash, positionsValue, cash + positionsValue,
                realized.GetValueOrDefault(key), positions.Sum(p => p.UnrealizedPnlQuote), positions);
        })];
    }
}
