namespace TradingBots.Messaging;

/// <summary>
/// Run a bot for a job: sent by the Bots service when a bot starts (its MessageId is the job's celery_task_id), taken by
/// one Worker, which then owns the bot through its lease.
/// </summary>
public sealed record RunBot(long JobId, long BotId);

/// <summary>
/// Run a backtest's job: sent by the Bots service once POST /backtests committed (its MessageId is the job's
/// celery_task_id), taken by one Worker; the Workers' sweep takes a job whose message never came.
/// </summary>
public sealed record RunBacktest(long JobId);

/// <summary>
/// A search's trials were cut into chunks that any Worker may run: published by the Worker that holds the search once its
/// chunks committed, received by every Worker (each has its own endpoint) so idle ones join at once; without it they look
/// every few seconds.
/// </summary>
public sealed record TrialsQueued(long JobId);
