using MassTransit;
using TradingBots.Messaging;

namespace TradingBots.Worker;

/// <summary>
/// Takes a backtest's job message: wakes the <see cref="BacktestScheduler"/>, which runs the job from the jobs table, and
/// acknowledges at once (a run may last far longer than a broker lets a message go unacknowledged).
/// </summary>
public sealed class RunBacktestConsumer(BacktestScheduler scheduler) : IConsumer<RunBacktest>
{
    public Task Consume(ConsumeContext<RunBacktest> context)
    {
        scheduler.Wake();
        return Task.CompletedTask;
    }
}
