namespace TradingBots.Data;

/// <summary>A bot's status: stopped → starting → running → stopping → stopped, or error (its job's message says why).</summary>
public static class BotStatus
{
    public const string Stopped = "stopped", Starting = "starting", Running = "running", Stopping = "stopping", Error = "error";
}

/// <summary>A job's status: queued → running → completed | cancelled | failed.</summary>
public static class JobStatus
{
    public const string Queued = "queued", Running = "running", Completed = "completed", Cancelled = "cancelled", Failed = "failed";

    /// <summary>The task of a bot's run (the spec's Celery task name).</summary>
    public const string BotRunTask = "bot.run";

    /// <summary>The task of a backtest (POST /backtests).</summary>
    public const string BacktestTask = "backtest";

    /// <summary>The task of a parameter search (POST /optimizations): a backtest row with its search, run as many trials.</summary>
    public const string OptimizationTask = "optimization";

    /// <summary>The tasks a backtest row's job runs: one backtest, or a search of many.</summary>
    public static IReadOnlyList<string> BacktestTasks { get; } = [BacktestTask, OptimizationTask];
}

// The spec's six tables (../shared/spec/phase2-spec.md), one class each; column names are the
// snake_case of the property names. Money and quantities are decimal (numeric), times UTC (timestamptz).

public sealed class Bot
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public List<string> Symbols { get; set; } = [];
    public required string Timeframe { get; set; }
    public bool PaperMode { get; set; } = true;
    public required string Strategy { get; set; }
    /// <summary>Free-form JSON object (jsonb), e.g. <c>{"fee_rate": 0.001, "starting_cash": 10000}</c>.</summary>
    public string Knobs { get; set; } = "{}";
    public required string Status { get; set; }
    public bool StopRequested { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A strategy version bots and backtests name ("name@version"): a built-in's written when a bot first uses it, a user strategy's with its <see cref="StrategySource"/>.</summary>
public sealed class Strategy
{
    public long Id { get; set; }
    public required string Name { get; set; }
    public int Version { get; set; }
    public string? Description { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// The files of a user strategy's version (beside the spec's <c>strategies</c> row it versions): written when the strategies
/// folder first shows that content (<see cref="Sha256"/> of the files, unique per name), so a Worker compiles the version a
/// bot or backtest was created with even after the file changed. <see cref="Files"/>: a JSON object, path → text.
/// </summary>
public sealed class StrategySource
{
    public long StrategyId { get; set; }
    public required string Name { get; set; }
    public required string Sha256 { get; set; }
    public required string Files { get; set; }
}

public sealed class Trade
{
    public long Id { get; set; }
    public long? BotId { get; set; }
    public required string Symbol { get; set; }
    public required string Side { get; set; }
    /// <summary>Base quantity still held (reduced by partial sells).</summary>
    public decimal Amount { get; set; }
    /// <summary>Entry price.</summary>
    public decimal Price { get; set; }
    public required string Status { get; set; }
    public decimal CostBasisQuote { get; set; }
    public decimal FeesPaidQuote { get; set; }
    public decimal UnrealizedPnlQuote { get; set; }
    public decimal RealizedPnlQuote { get; set; }
    public decimal Pnl { get; set; }
    public DateTimeOffset? ClosedAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

public sealed class Order
{
    public long Id { get; set; }
    public long? BotId { get; set; }
    public long? TradeId { get; set; }
    public string? ExchangeId { get; set; }
    public required string Symbol { get; set; }
    public required string Side { get; set; }
    public required string Type { get; set; }
    /// <summary>Base quantity filled.</summary>
    public decimal Amount { get; set; }
    public decimal? QuoteAmount { get; set; }
    public decimal? BaseQty { get; set; }
    public decimal Price { get; set; }
    public decimal FeeQuote { get; set; }
    public bool PaperMode { get; set; } = true;
    public required string Status { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

public sealed class PortfolioSnapshot
{
    public long Id { get; set; }
    public long? BotId { get; set; }
    public decimal Equity { get; set; }
    public decimal Cash { get; set; }
    public decimal PositionsValue { get; set; }
    public DateTimeOffset Timestamp { get; set; }
}

public sealed class Job
{
    public long Id { get; set; }
    public long? BotId { get; set; }
    public required string Task { get; set; }
    public required string Status { get; set; }
    public int Progress { get; set; }
    public string? Message { get; set; }
    public string? CeleryTaskId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

// Beyond the spec's six tables: the machinery of exactly-once effects.

/// <summary>
/// An event written in the same transaction as the change it describes, published to Redis afterwards by the
/// Trading service's outbox publisher (so no event leaves for a write that did not commit, and none is lost
/// while Redis is down).
/// </summary>
public sealed class OutboxEvent
{
    public long Id { get; set; }
    public required string Type { get; set; }
    /// <summary>The event's data as JSON text, the spec's fields in the spec's order.</summary>
    public required string Payload { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? PublishedAt { get; set; }
}

/// <summary>The first response to a request sent with an Idempotency-Key, replayed to its retries.</summary>
public sealed class IdempotencyKey
{
    public required string Key { get; set; }
    /// <summary>SHA-256 of the request body: the same key with a different body is refused.</summary>
    public required string RequestHash { get; set; }
    public int StatusCode { get; set; }
    /// <summary>The response body as sent, byte for byte.</summary>
    public required string Response { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// A paper account's cash: the manual account ("manual") or a bot's ("bot:12"), created at its first order with the
/// starting cash and quote currency of that moment. Its row lock serializes the account's orders; cash changes with
/// every fill. The cash is in one currency: only symbols quoted in it trade in this account.
/// </summary>
public sealed class PaperAccount
{
    public required string Key { get; set; }
    public long? BotId { get; set; }
    public required string QuoteCurrency { get; set; }
    public decimal StartingCash { get; set; }
    public decimal Cash { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// Which Worker runs a bot now (beyond the spec's tables). Each claim of a tick moves <see cref="NextTickAt"/> forward
/// by <see cref="TickSeconds"/> (written from the validated knob, never read from the knobs' text) and takes a new
/// <see cref="Epoch"/> from the <c>fencing_tokens</c> sequence: every write of that tick is conditional on it, so a
/// Worker that lost the lease writes nothing. The owner renews <see cref="ExpiresAt"/> while a tick runs; a lease not
/// renewed for two tick intervals (its Worker died) is taken over by another Worker. All times are the database's.
/// </summary>
public sealed class BotLease
{
    public long BotId { get; set; }
    public long JobId { get; set; }
    public required string Owner { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset NextTickAt { get; set; }
    public int Ticks { get; set; }
    public int TickSeconds { get; set; }
    public long Epoch { get; set; }
}

/// <summary>The newest closed candle a bot's run has judged, per symbol: a takeover never judges it again.</summary>
public sealed class JudgedCandle
{
    public long JobId { get; set; }
    public required string Symbol { get; set; }
    public long OpenTime { get; set; }
}

// Backtests: the candles they run on, kept so a range is fetched from the exchange once, and each run's setup and summary.

/// <summary>A closed candle of a symbol and timeframe, as the exchange reported it (open time in Unix ms).</summary>
public sealed class StoredCandle
{
    public required string Symbol { get; set; }
    public required string Timeframe { get; set; }
    public long OpenTime { get; set; }
    public decimal Open { get; set; }
    public decimal High { get; set; }
    public decimal Low { get; set; }
    public decimal Close { get; set; }
    public decimal Volume { get; set; }
}

/// <summary>
/// A block of <c>candles</c> kept compact for reading (TradingBots.Backtests.CandleBlocks: its encoding and its size): every
/// candle of a symbol and timeframe opening in [<see cref="FirstOpen"/>, <see cref="LastOpen"/>], written by the first read
/// that found them all, dropped by a trigger when any of them is deleted or changed. A copy, never the record.
/// </summary>
public sealed class CandleBlock
{
    public required string Symbol { get; set; }
    public required string Timeframe { get; set; }
    public long FirstOpen { get; set; }
    public long LastOpen { get; set; }
    public required byte[] Data { get; set; }
}

/// <summary>
/// A backtest: its job (task <c>backtest</c>, whose status and progress it has), what it runs (the candles opening in
/// [from, to)) and, once completed, its summary (json as written: the GET /backtests/{id} figures).
/// </summary>
public sealed class Backtest
{
    public long JobId { get; set; }
    public required string Strategy { get; set; }
    public int Version { get; set; }
    public string Knobs { get; set; } = "{}";
    public List<string> Symbols { get; set; } = [];
    public required string Timeframe { get; set; }
    public DateTimeOffset From { get; set; }
    public DateTimeOffset To { get; set; }
    public decimal StartingCash { get; set; }
    public decimal FeeRate { get; set; }
    public string? Summary { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>A parameter search's ranges, search, metric and folds (JSON); null for a single backtest.</summary>
    public string? Search { get; set; }

    /// <summary>The Worker running it (a lease, like a bot's): null until one takes it.</summary>
    public string? Owner { get; set; }

    /// <summary>The fencing token of the run that holds it (from <c>fencing_tokens</c>): its progress and end are conditional on it.</summary>
    public long Epoch { get; set; }

    /// <summary>Written by its Worker on a timer while it runs (the database's clock); silent too long, another Worker takes it over.</summary>
    public DateTimeOffset? HeartbeatAt { get; set; }

    /// <summary>
    /// A search's run as its owner fixed it for every Worker that runs its trials (JSON: the candles read up to, the exchange
    /// rules applied); written with its chunks, null for a single backtest.
    /// </summary>
    public string? SearchPlan { get; set; }
}

/// <summary>
/// A share of a search's trials (consecutive, <see cref="FirstTrial"/> 0-based): planned by the run that holds the search
/// (<see cref="Epoch"/>, the backtest's token then), taken by any Worker like a lease (its own <see cref="Token"/> and
/// heartbeat), and done once its <see cref="Results"/> are written, which only that token may do while the search's run is
/// still the one that planned it.
/// </summary>
public sealed class SearchChunk
{
    public long JobId { get; set; }
    public int Chunk { get; set; }
    public long Epoch { get; set; }
    public int FirstTrial { get; set; }
    public int TrialCount { get; set; }

    /// <summary>The Worker that runs it, or ran it once done.</summary>
    public string? Owner { get; set; }

    /// <summary>The fencing token of the claim that holds it (from <c>fencing_tokens</c>); null until taken.</summary>
    public long? Token { get; set; }

    public DateTimeOffset? HeartbeatAt { get; set; }

    /// <summary>The chunk's trial runs (JSON), once done.</summary>
    public string? Results { get; set; }
}
