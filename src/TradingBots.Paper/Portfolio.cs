using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TradingBots.Data;

namespace TradingBots.Paper;

/// <summary>
/// Accounts marked to market: cash from the filled orders, open positions at live prices (one market call for
/// every symbol held), equity = cash + positions_value.
/// </summary>
public sealed class Portfolio(TradingDbContext db, PriceSource prices, IOptions<PaperOptions> options)
{
    /// <summary>The manual account and every bot's.</summary>
    public async Task<IReadOnlyList<Account>> GetAllAsync(CancellationToken cancellationToken)
    {
        var bots = await db.Bots.AsNoTracking().OrderBy(b => b.Id).Select(b => new { b.Id, b.Knobs }).ToListAsync(cancellationToken);
        var accounts = new List<(long? BotId, decimal StartingCash)> { (null, options.Value.StartingCash) };
        accounts.AddRange(bots.Select(b => ((long?)b.Id, PaperRules.StartingCash(b.Knobs, options.Value.StartingCash))));
        return await MarkAsync(accounts, botId: null, cancellationToken);
    }

    /// <summary>One bot's account, or null when there is no such bot.</summary>
    public async Task<Account?> GetAsync(long botId, CancellationToken cancellationToken)
    {
        var knobs = await db.Bots.Where(b => b.Id == botId).Select(b => b.Knobs).FirstOrDefaultAsync(cancellationToken);
        if (knobs is null) return null;
        var accounts = await MarkAsync([(botId, PaperRules.StartingCash(knobs, options.Value.StartingCash))], botId, cancellationToken);
        return accounts[0];
    }

    private async Task<IReadOnlyList<Account>> MarkAsync(List<(long? BotId, decimal StartingCash)> accounts, long? botId,
        CancellationToken cancellationToken)
    {
        var orders = db.Orders.AsQueryable();
        var trades = db.Trades.AsQueryable();
        if (botId is not null)
        {
            orders = orders.Where(o => o.BotId == botId);
            trades = trades.Where(t => t.BotId == botId);
        }
        var cashFlows = await Ledger.CashMoves(orders).GroupBy(m => m.BotId)
            .Select(g => new { BotId = g.Key, Flow = g.Sum(m => m.Amount) })
            .ToDictionaryAsync(g => g.BotId ?? 0, g => g.Flow, cancellationToken);
        var realized = await trades.GroupBy(t => t.BotId)
            .Select(g => new { BotId = g.Key, Realized = g.Sum(t => t.RealizedPnlQuote) })
            .ToDictionaryAsync(g => g.BotId ?? 0, g => g.Realized, cancellationToken);
        var open = await trades.AsNoTracking().Where(t => t.Status == TradeStatus.Open).ToListAsync(cancellationToken);
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
                return new Position(g.Key, qty, cost, fees, price, qty * price, PaperRules.Unrealized(qty, price, cost, fees), g.Count());
            }).ToList();
            var cash = account.StartingCash + cashFlows.GetValueOrDefault(key);
            var positionsValue = positions.Sum(p => p.Value);
            return new Account(account.BotId, account.StartingCash, cash, positionsValue, cash + positionsValue,
                realized.GetValueOrDefault(key), positions.Sum(p => p.UnrealizedPnlQuote), positions);
        })];
    }
}
