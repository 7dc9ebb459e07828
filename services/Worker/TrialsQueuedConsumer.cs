using MassTransit;
using TradingBots.Messaging;

namespace TradingBots.Worker;

/// <summary>A search's chunks were queued (every Worker hears it, on an endpoint of its own): the <see cref="BacktestScheduler"/> looks now.</summary>
public sealed class TrialsQueuedConsumer(BacktestScheduler scheduler) : IConsumer<TrialsQueued>
{
    public Task Consume(ConsumeContext<TrialsQueued> context)
    {
        scheduler.Wake();
        return Task.CompletedTask;
    }
}
