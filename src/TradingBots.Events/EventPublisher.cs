using System.Text.Json;
using StackExchange.Redis;

namespace TradingBots.Events;

/// <summary>Publishes straight to Redis. For events that follow a database write, use the outbox instead.</summary>
public sealed class EventPublisher(IConnectionMultiplexer redis)
{
    private static readonly RedisChannel Channel = RedisChannel.Literal(EventChannel.Name);

    public Task PublishAsync<T>(string type, T data) =>
        PublishRawAsync(Envelope(null, type, JsonSerializer.SerializeToElement(data, WireJson.Options)));

    public Task PublishRawAsync(string envelopeJson) => redis.GetSubscriber().PublishAsync(Channel, envelopeJson);

    public static string Envelope(long? id, string type, JsonElement data) =>
        JsonSerializer.Serialize(new EventEnvelope(id, type, data), WireJson.Options);
}
