namespace TradingBots.Strategies;

/// <summary>
/// A strategy failed in a way that is its own (it threw, or went over its budget of time, memory or stack): its bot is
/// failed with this message, its backtest too; never the Worker, nor the other bots of the tick.
/// </summary>
public sealed class StrategyFailedException(string message, Exception? inner = null) : Exception(message, inner);
