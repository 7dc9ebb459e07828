using System.Text.Json;

namespace TradingBots.Events;

/// <summary>
/// The events of the spec, published on the Redis channel <see cref="EventChannel.Name"/> inside the envelope
/// <c>{"id": 42, "type": "trade.opened", "data": {...the spec's fields...}}</c> (id only for events from the outbox).
/// </summary>
public static class EventTypes
{
    public const string BotState = "bot.state";
    public const string PortfolioSnapshot = "portfolio.snapshot";
    public const string JobProgress = "job.progress";
    public const string TradeOpened = "trade.opened";
    public const string TradeUpdated = "trade.updated";
    public const string TradeClosed = "trade.closed";
    public const string SystemNotice = "system.notice";
}

public static class EventChannel
{
    public const string Name = "events";

}

public sealed record TradeOpened(long? BotId, long TradeId, long OrderId, string Symbol, decimal Qty, decimal Price,
    decimal CostBasisQuote, decimal FeeQuote, DateTimeOffset Ts);

public sealed record TradeClosed(long? BotId, long TradeId, long OrderId, string Symbol, decimal Price,
    decimal RealizedPnlQuote, decimal FeesPaidQuote, DateTimeOffset Ts);

public sealed record TradeUpdated(long? BotId, long TradeId, string Symbol, decimal Price, decimal UnrealizedPnlQuote, DateTimeOffset Ts);

public sealed record SystemNotice(string Message, DateTimeOffset Ts);

public sealed record BotState(long BotId, string Status, long? JobId, DateTimeOffset Ts);

public sealed record JobProgress(long? BotId, long JobId, string Status, int Progress, DateTimeOffset Ts);

public sealed record PortfolioSnapshotEvent(long? BotId, decimal Equity, decimal Cash, decimal PositionsValue, DateTimeOffset Ts);

/// <summary>What travels on the channel.</summary>
public sealed record EventEnvelope(long? Id, string Type, JsonElement Data);
