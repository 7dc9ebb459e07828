using MassTransit;
using TradingBots.Messaging;

namespace TradingBots.Worker;

/// <summary>Takes a backtest's job message and runs it here (a duplicate, or a job another Worker took, does nothing).</summary>
public sealed class RunBacktestConsumer(BacktestRunner runner) : IConsumer<RunBacktest>
{
    public Task Consume(ConsumeContext<RunBacktest> context) => runner.RunAsync(context.Message.JobId, context.CancellationToken);
}
