using TradingBots.Data;

namespace TradingBots.Paper;

/// <summary>One cash movement of a paper account.</summary>
public sealed class CashMove
{
    public long? BotId { get; init; }
    public decimal Amount { get; init; }
}

/// <summary>Where an account's cash comes from: the one definition the engine and the portfolio both query.</summary>
public static class Ledger
{
    /// <summary>Each filled order's cash movement: a sell brings proceeds − fee, a buy costs quote + fee.</summary>
    public static IQueryable<CashMove> CashMoves(IQueryable<Order> orders) =>
        orders.Where(o => o.Status == "filled").Select(o => new CashMove
        {
            BotId = o.BotId,
            Amount = o.Side == Sides.Buy ? -(o.QuoteAmount!.Value + o.FeeQuote) : o.QuoteAmount!.Value - o.FeeQuote,
        });
}
