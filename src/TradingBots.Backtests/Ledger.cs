using TradingBots.Events;
using TradingBots.Paper;
using TradingBots.Strategies;

namespace TradingBots.Backtests;

/// <summary>
/// One trade of a backtest, from its buy to its close (or still open at the end). <see cref="OpenedAt"/> and
/// <see cref="ClosedAt"/> are the open times (Unix ms) of the candles it was bought and sold at: the candles after those
/// the strategy decided on, at whose opens it filled.
/// </summary>
public sealed class BacktestTrade
{
    public required long Id { get; init; }
    public required string Symbol { get; init; }
    public required long OpenedAt { get; init; }
    public required decimal EntryPrice { get; init; }
    public required decimal Qty { get; init; }
    public required decimal CostBasisQuote { get; init; }
    public required decimal FeesPaidQuote { get; set; }
    public required string OpenReason { get; init; }
    public long? ClosedAt { get; set; }
    public decimal? ExitPrice { get; set; }
    public decimal? ProceedsQuote { get; set; }
    public decimal? RealizedPnlQuote { get; set; }
    public string? CloseReason { get; set; }
    public bool IsOpen => ClosedAt is null;
}

/// <summary>
/// A backtest's paper account, in memory: cash and trades moved by <see cref="PaperRules"/> exactly as the paper engine
/// moves an account's rows (the price slipped by <paramref name="slippageBps"/> and, under a symbol's exchange
/// <paramref name="rules"/>, on its tick, the quantity on its step and the order refused under its minimums; a buy of a
/// quote amount refused when it fills nothing or costs more than the cash, a close of the whole trade), so the same
/// decisions at the same prices come to the same figures to the last decimal.
/// </summary>
public sealed class Ledger(decimal startingCash, decimal feeRate, decimal slippageBps = 0m, IReadOnlyDictionary<string, ExchangeRules>? rules = null)
{
    private readonly List<BacktestTrade> _trades = [];
    private readonly List<BacktestTrade> _open = [];
    private IReadOnlyList<OpenTrade>? _view;

    public decimal Cash { get; private set; } = startingCash;
    public decimal FeesPaid { get; private set; }
    public IReadOnlyList<BacktestTrade> Trades => _trades;
    public bool InPosition => _open.Count > 0;

    /// <summary>The open trades as a strategy sees them, oldest first (the same list until a trade opens or closes).</summary>
    public IReadOnlyList<OpenTrade> OpenTrades => _view ??=
        [.. _open.Select(t => new OpenTrade(t.Id, t.Symbol, t.Qty, t.EntryPrice, t.CostBasisQuote, t.FeesPaidQuote))];

    /// <summary>Buys <paramref name="quote"/> of a symbol at <paramref name="price"/>; null, or why it was refused (nothing changes).</summary>
    public string? Buy(string symbol, decimal quote, decimal price, long at, string reason)
    {
        var symbolRules = rules?.GetValueOrDefault(symbol);
        price = PaperRules.FillPrice(price, Sides.Buy, slippageBps, symbolRules);
        var fill = PaperRules.Buy(price, quote, null, feeRate, symbolRules);
        if (symbolRules is not null && PaperRules.Refusal(symbolRules, fill.Qty, price) is { } refused)
            return $"buy of {WireJson.Format(quote)} {symbol} refused: {refused.Filter}: {refused.Reason}";
        switch (PaperRules.Refusal(fill, Cash))
        {
            case BuyRefusal.TooSmall: return $"buy of {WireJson.Format(quote)} {symbol} too small: it fills nothing at {WireJson.Format(price)}";
            case BuyRefusal.InsufficientCash:
                return $"buy of {WireJson.Format(quote)} {symbol} refused: it costs {WireJson.Format(fill.Quote + fill.Fee)}, the account has {WireJson.Format(Cash)}";
        }
        var trade = new BacktestTrade
        {
            Id = _trades.Count + 1, Symbol = symbol, OpenedAt = at, EntryPrice = price, Qty = fill.Qty, CostBasisQuote = fill.Quote,
            FeesPaidQuote = fill.Fee, OpenReason = reason,
        };
        _trades.Add(trade);
        _open.Add(trade);
        _view = null;
        Cash = PaperRules.CashAfter(Cash, fill);
        FeesPaid += fill.Fee;
        return null;
    }

    /// <summary>Closes the whole trade at <paramref name="price"/>; null, or why not (it is not open).</summary>
    public string? Close(long tradeId, decimal price, long at, string reason)
    {
        var trade = _open.Find(t => t.Id == tradeId);
        if (trade is null) return $"trade {tradeId} is not open";
        var symbolRules = rules?.GetValueOrDefault(trade.Symbol);
        price = PaperRules.FillPrice(price, Sides.Sell, slippageBps, symbolRules);
        if (symbolRules is not null && PaperRules.Refusal(symbolRules, trade.Qty, price) is { } refused)
            return $"sell of trade {tradeId} ({trade.Symbol}) refused: {refused.Filter}: {refused.Reason}";
        var sale = PaperRules.SellFrom(new OpenLot(trade.Id, trade.Qty, trade.CostBasisQuote, trade.FeesPaidQuote, 0m), trade.Qty, price, feeRate);
        (trade.ClosedAt, trade.ExitPrice, trade.ProceedsQuote, trade.FeesPaidQuote, trade.RealizedPnlQuote, trade.CloseReason) =
            (at, price, sale.Proceeds, sale.FeesPaidQuote, sale.RealizedPnlQuote, reason);
        _open.Remove(trade);
        _view = null;
        Cash = PaperRules.CashAfter(Cash, sale);
        FeesPaid += sale.Fee;
        return null;
    }

    /// <summary>Cash plus every open trade valued at its symbol's price (as the Worker's portfolio snapshots value them).</summary>
    public decimal Equity(Func<string, decimal> priceOf)
    {
        var equity = Cash;
        foreach (var trade in _open) equity += PaperRules.Value(trade.Qty, priceOf(trade.Symbol));
        return equity;
    }
}
