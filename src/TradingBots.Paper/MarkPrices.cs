using Microsoft.EntityFrameworkCore;
using TradingBots.Data;

namespace TradingBots.Paper;

/// <summary>A price to value or close a position at; <see cref="Stale"/> when the exchange no longer lists the symbol.</summary>
public sealed record MarkPrice(decimal Price, bool Stale);

/// <summary>
/// Prices to value and close positions at: the market's live last price, or, for a symbol the exchange no longer lists
/// (a delisted pair, or another exchange than the one the position was opened on), the last price this system filled
/// it at, flagged stale. So one such position never makes a whole portfolio unreadable, and it can still be closed.
/// </summary>
public sealed class MarkPrices(TradingDbContext db, PriceSource prices)
{
    public async Task<IReadOnlyDictionary<string, MarkPrice>> GetAsync(IReadOnlyCollection<string> symbols, CancellationToken cancellationToken)
    {
        var (live, unlisted) = await prices.GetListedQuotesAsync(symbols, cancellationToken);
        var marks = live.ToDictionary(p => p.Key, p => new MarkPrice(p.Value.Last, Stale: false));
        foreach (var (symbol, price) in await LastFilledAsync(unlisted, cancellationToken)) marks[symbol] = new MarkPrice(price, Stale: true);
        return marks;
    }

    /// <summary>One symbol's ticker for closing a trade; stale (last, bid and ask all the last fill's price) when it is not listed.</summary>
    public async Task<(Quote Quote, bool Stale)> GetQuoteAsync(string symbol, CancellationToken cancellationToken)
    {
        try
        {
            return (await prices.GetQuoteAsync(symbol, cancellationToken), false);
        }
        catch (PriceException ex) when (ex.Status == System.Net.HttpStatusCode.BadRequest)
        {
            if ((await LastFilledAsync([symbol], cancellationToken)).TryGetValue(symbol, out var last)) return (new Quote(last, last, last), true);
            throw;
        }
    }

    /// <summary>The price of the newest fill of each symbol, in any account (every open trade has at least its buy).</summary>
    public async Task<Dictionary<string, decimal>> LastFilledAsync(IReadOnlyList<string> symbols, CancellationToken cancellationToken) =>
        symbols.Count == 0 ? [] : await db.Orders.AsNoTracking()
            .Where(o => symbols.Contains(o.Symbol))
            .GroupBy(o => o.Symbol)
            .Select(g => g.OrderByDescending(o => o.CreatedAt).ThenByDescending(o => o.Id).First())
            .ToDictionaryAsync(o => o.Symbol, o => o.Price, cancellationToken);
}
