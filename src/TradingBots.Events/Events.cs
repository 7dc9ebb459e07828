namespace TradingBots.Events;

/// <summary>
/// The events of the spec, published on the Redis channel <see cref="EventChannel.Name"/> inside the envelope
/// <c>{"id": "1764680000000-0", "type": "trade.opened", "data": {...the spec's fields...}}</c>, the id being the event's
/// in the retained log <see cref="EventChannel.Log"/>.
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

    /// <summary>
    /// The Redis stream every event is also appended to, under the id it is published with (Redis's stream ids:
    /// milliseconds-sequence, increasing in publication order): what /sse resumes from.
    /// </summary>
    public const string Log = "events:log";

    /// <summary>Events the log retains (approximately: Redis trims whole nodes), about 25 MB of Redis memory.</summary>
    public const int LogLength = 100_000;

    /// <summary>The log's field holding the outbox id of an event that came from the outbox.</summary>
    public const string OutboxField = "o";

    /// <summary>The log's field holding the envelope without its id (<see cref="EventPublisher.Tail"/>).</summary>
    public const string EnvelopeField = "e";
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
