using MassTransit;
using TradingBots.Messaging;

namespace TradingBots.Worker;

/// <summary>Takes a bot's job message: the bot runs on this Worker from its next scheduler pass.</summary>
public sealed class RunBotConsumer(BotRuns runs) : IConsumer<RunBot>
{
    public Task Consume(ConsumeContext<RunBot> context) => runs.ClaimAsync(context.Message.JobId, context.Message.BotId, context.CancellationToken);
}
