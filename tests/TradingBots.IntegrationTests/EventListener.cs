using System.Collections.Concurrent;
using System.Text.Json;
using StackExchange.Redis;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>Subscribes to the Redis channel "events" for the length of a test and keeps every envelope it sees.</summary>
public sealed class EventListener : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly ConcurrentQueue<JsonElement> _events = new();
    private readonly ConcurrentQueue<string> _raw = new();

    private EventListener(ConnectionMultiplexer redis) => _redis = redis;

    /// <summary>Whether an event is of this type and about this bot.</summary>
    public static bool Is(JsonElement e, string type, long bot) =>
        e.GetProperty("type").GetString() == type && e.GetProperty("data").TryGetProperty("bot_id", out var b) && b.ValueKind == JsonValueKind.Number && b.GetInt64() == bot;

    /// <summary>An envelope's id (the retained log's "milliseconds-sequence") as a pair that orders as the ids do.</summary>
    public static (long Ms, long Seq) LogId(JsonElement e)
    {
        var parts = e.GetProperty("id").GetString()!.Split('-');
        return (long.Parse(parts[0]), long.Parse(parts[1]));
    }

    public static async Task<EventListener> StartAsync(TopologyFixture topology)
    {
        var options = ConfigurationOptions.Parse(topology.RedisConnectionString);
        options.AbortOnConnectFail = false;
        var listener = new EventListener(await ConnectionMultiplexer.ConnectAsync(options));
        var queue = await listener._redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal("events"));
        queue.OnMessage(message =>
        {
            listener._raw.Enqueue(message.Message.ToString());
            listener._events.Enqueue(JsonDocument.Parse(message.Message.ToString()).RootElement.Clone());
        });
        return listener;
    }

    public IReadOnlyList<JsonElement> Events => [.. _events];

    /// <summary>Every message exactly as it came off the channel.</summary>
    public IReadOnlyList<string> Raw => [.. _raw];

    public IReadOnlyList<JsonElement> OfType(string type) => [.. _events.Where(e => e.GetProperty("type").GetString() == type)];

    /// <summary>Waits until <paramref name="count"/> events match, then returns them (in arrival order).</summary>
    public async Task<IReadOnlyList<JsonElement>> WaitForAsync(Func<JsonElement, bool> match, int count = 1, double seconds = 10)
    {
        try
        {
            return await Eventually.UntilAsync(() =>
            {
                var found = _events.Where(match).ToList();
                return Task.FromResult(found.Count >= count ? found : null);
            }, $"{count} expected events", TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(50));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{_events.Count(match)} of {count} expected events after {seconds} s; seen: {string.Join(" | ", _events)}");
        }
    }

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();
}
