using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TradingBots.Events;

namespace TradingBots.Gateway.Sse;

public sealed class SseOptions
{
    public const string Section = "Sse";

    /// <summary>A comment every this often keeps idle connections (and the proxies between) open.</summary>
    [Range(typeof(TimeSpan), "00:00:00.1", "01:00:00")]
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Events a client may be behind before it is disconnected (it then resumes with Last-Event-ID).</summary>
    [Range(16, 1_000_000)]
    public int ClientBuffer { get; set; } = 10_000;
}

/// <summary>
/// The gateway's one subscription to the Redis channel <see cref="EventChannel.Name"/>, fanned out to every /sse client:
/// each event is parsed once, then offered to each client whose filter admits it, never waiting for one (a slow client
/// fills its own buffer and is dropped). It also offers every client a heartbeat each <see cref="SseOptions.Heartbeat"/>,
/// and, when the subscription drops and comes back, markers that make each client read what it missed from the log.
/// </summary>
public sealed class SseHub(IConnectionMultiplexer redis, IOptions<SseOptions> options, TimeProvider time, ILogger<SseHub> logger)
    : BackgroundService
{
    private readonly Lock _gate = new();
    private SseClient[] _clients = [];
    private volatile bool _subscribed;

    /// <summary>
    /// A new client. Until the subscription is up (Redis was down as the gateway started), it starts behind: it reads the
    /// log once the subscription is.
    /// </summary>
    public SseClient Join(SseFilter filter, bool jobActive, Action disconnect)
    {
        var client = new SseClient(filter, options.Value.ClientBuffer, jobActive, disconnect);
        lock (_gate) _clients = [.. _clients, client];
        if (!_subscribed) client.Offer(SseItem.Gap);
        return client;
    }

    public void Leave(SseClient client)
    {
        lock (_gate) _clients = [.. _clients.Where(c => c != client)];
        client.Complete();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        redis.ConnectionFailed += (_, e) =>
        {
            logger.LogWarning("SSE: Redis connection lost ({Type}: {Failure}); clients will read what they miss from the log", e.ConnectionType, e.FailureType);
            Broadcast(SseItem.Gap);
        };
        redis.ConnectionRestored += (_, _) => Broadcast(SseItem.Restored);
        await SubscribeAsync(stoppingToken);

        using var heartbeat = new PeriodicTimer(options.Value.Heartbeat, time);
        try
        {
            while (await heartbeat.WaitForNextTickAsync(stoppingToken)) Broadcast(SseItem.Heartbeat);
        }
        catch (OperationCanceledException) { }
        finally
        {
            foreach (var client in Volatile.Read(ref _clients)) client.Complete();
        }
    }

    /// <summary>Subscribes once; while Redis is down at start-up, tries again every second (the client library then keeps it).</summary>
    private async Task SubscribeAsync(CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                var queue = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(EventChannel.Name));
                // Handled one at a time, in the order Redis sent them: the log's order.
                queue.OnMessage(message => Dispatch(message.Message.ToString()));
                _subscribed = true;
                Broadcast(SseItem.Restored);
                return;
            }
            catch (RedisException ex)
            {
                logger.LogWarning("SSE: cannot subscribe to {Channel} yet ({Message})", EventChannel.Name, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), time, stoppingToken);
            }
        }
    }

    private void Dispatch(string envelope)
    {
        if (SseItem.Parse(envelope) is not { } item)
        {
            logger.LogWarning("SSE: not an event envelope on {Channel}: {Message}", EventChannel.Name, envelope.Length > 200 ? envelope[..200] : envelope);
            return;
        }
        foreach (var client in Volatile.Read(ref _clients))
        {
            if (client.Filter.Admits(item)) client.Offer(item);
        }
    }

    private void Broadcast(SseItem marker)
    {
        foreach (var client in Volatile.Read(ref _clients)) client.Offer(marker);
    }
}
