using MassTransit;

namespace TradingBots.Bots;

/// <summary>
/// Sends a job's message once its job committed (its MessageId is the job's celery_task_id). With the broker down
/// MassTransit waits for it to come back: the answer does not, the job stays queued and the Workers' sweep of queued jobs
/// takes it (the message is a shortcut, the jobs row the record).
/// </summary>
public static class JobMessages
{
    public static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(2);

    public static async Task PublishAsync<T>(IPublishEndpoint bus, T message, Guid messageId, long jobId, ILogger logger,
        CancellationToken cancellationToken) where T : class
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(PublishTimeout);
        try
        {
            await bus.Publish(message, context => context.MessageId = messageId, timeout.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Job {Job}: the job message could not be sent ({Message}); a worker's sweep will take it", jobId,
                ex is OperationCanceledException ? $"no broker within {PublishTimeout.TotalSeconds} s" : ex.Message);
        }
    }
}
