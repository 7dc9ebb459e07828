using TradingBots.Data;

namespace TradingBots.Paper;

public static class Sides
{
    public const string Buy = "buy", Sell = "sell";
}

public static class TradeStatus
{
    public const string Open = "open", Closed = "closed";
}

/// <summary>POST /orders, validated: exactly the spec's fields.</summary>
public sealed record OrderRequest(long? BotId, string Symbol, string Side, decimal? QuoteAmount, decimal? BaseQty);

/// <summary>A refused request: the HTTP status, the field at fault and why. Nothing was written.</summary>
public sealed class PaperException(int status, string field, string reason) : Exception($"{field}: {reason}")
{
    public int Status { get; } = status;
    public string Field { get; } = field;
    public string Reason { get; } = reason;
}

/// <summary>
/// A statement a caller runs in an order's transaction, right after the account's lock and in the same round trip, before
/// anything of the order is written: a bot's tick checks there that its lease is still its own (its fencing token) and
/// records the candle the order was decided on, so the order and that record commit together or not at all. The statement
/// returns a row when the order may go on; without one the order throws <see cref="Refused"/> and writes nothing.
/// </summary>
public interface IOrderGuard
{
    Npgsql.NpgsqlBatchCommand Statement();

    Exception Refused();
}

public sealed record OrderView(long Id, long? BotId, long? TradeId, string? ExchangeId, string Symbol, string Side, string Type,
    decimal Amount, decimal? QuoteAmount, decimal? BaseQty, decimal Price, decimal FeeQuote, bool PaperMode, string Status,
    DateTimeOffset CreatedAt)
{
    public static OrderView From(Order o) => new(o.Id, o.BotId, o.TradeId, o.ExchangeId, o.Symbol, o.Side, o.Type, o.Amount,
        o.QuoteAmount, o.BaseQty, o.Price, o.FeeQuote, o.PaperMode, o.Status, o.CreatedAt);
}

public sealed record TradeView(long Id, long? BotId, string Symbol, string Side, decimal Amount, decimal Price, string Status,
    decimal CostBasisQuote, decimal FeesPaidQuote, decimal UnrealizedPnlQuote, decimal RealizedPnlQuote, decimal Pnl,
    DateTimeOffset? ClosedAt, DateTimeOffset CreatedAt)
{
    public static TradeView From(Trade t) => new(t.Id, t.BotId, t.Symbol, t.Side, t.Amount, t.Price, t.Status, t.CostBasisQuote,
        t.FeesPaidQuote, t.UnrealizedPnlQuote, t.RealizedPnlQuote, t.Pnl, t.ClosedAt, t.CreatedAt);
}

/// <summary>What a close's caller read of an open trade: its account (bot, or null: the manual one), symbol and amount.</summary>
public sealed record KnownTrade(long? BotId, string Symbol, decimal Amount);

/// <summary>The answer to POST /orders and POST /trades/{id}/close: the spec's <c>order</c> and <c>trade_id</c>, every
/// fill when a sell touched several trades, and whether the price was the last known one (a symbol no longer listed).</summary>
public sealed record OrderResult(OrderView Order, long? TradeId, IReadOnlyList<OrderView> Orders, bool PriceStale = false);

/// <summary>An account's open trades of one symbol, valued at <see cref="Price"/> (the last known one when <see cref="PriceStale"/>).</summary>
public sealed record Position(string Symbol, decimal Qty, decimal CostBasisQuote, decimal FeesPaidQuote, decimal Price, bool PriceStale,
    decimal Value, decimal UnrealizedPnlQuote, int OpenTrades);

/// <summary>A paper account marked to market; every amount is in <see cref="QuoteCurrency"/>.</summary>
public sealed record Account(long? BotId, string QuoteCurrency, decimal StartingCash, decimal Cash, decimal PositionsValue, decimal Equity,
    decimal RealizedPnlQuote, decimal UnrealizedPnlQuote, IReadOnlyList<Position> Positions);
