using System.Text.Json;
using StackExchange.Redis;

namespace TradingBots.Events;

/// <summary>
/// Publishes events on the Redis channel <see cref="EventChannel.Name"/> and appends each to the retained log
/// <see cref="EventChannel.Log"/> in the same atomic step (<see cref="PublishScript"/>): Redis gives every event its id
/// there, so ids increase in delivery order across every publishing process, and a reader that missed events (a client
/// that reconnects with Last-Event-ID, a gateway that restarted) reads them back from the log by id. For events that
/// follow a database write, use the outbox instead, which publishes through <see cref="PublishBatchAsync"/>.
/// </summary>
public sealed class EventPublisher(IConnectionMultiplexer redis)
{
    /// <summary>
    /// ARGV: the log's length, the channel, then (outbox id or "", envelope without its id) pairs. For each pair: XADD to
    /// the log (capped, approximately, at that length; field o is the outbox id, e the envelope's tail), then PUBLISH the
    /// envelope with the log's id spliced in as its first field. One script call is atomic: no other event falls between
    /// an event's XADD and its PUBLISH, so the log's order is the channel's order.
    /// </summary>
    private const string PublishScript = """
        for i = 3, #ARGV, 2 do
          local id
          if ARGV[i] == '' then
            id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i + 1])
          else
            id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'o', ARGV[i], 'e', ARGV[i + 1])
          end
          redis.call('PUBLISH', ARGV[2], '{"id":"' .. id .. '",' .. ARGV[i + 1])
        end
        return 0
        """;

    private static readonly RedisKey[] Keys = [EventChannel.Log];

    /// <summary>Events per script call: a batch of the outbox is a few calls, each short enough not to stall Redis.</summary>
    public const int PerCall = 100;

    /// <summary>Publishes one event straight away (no database write to follow: a notice).</summary>
    public Task PublishAsync<T>(string type, T data) =>
        PublishBatchAsync([(null, type, Outbox.Payload(data))])[0];

    /// <summary>
    /// Publishes events in this order, pipelined in calls of <see cref="PerCall"/>; each task completes when its call
    /// did (a failed call fails its events and leaves the ones after it to the caller). <paramref name="events"/>'
    /// OutboxId is recorded with the event in the log, so a publisher that died before marking its batch finds out what
    /// it had already sent (<see cref="PublishedOutboxIdsAsync"/>).
    /// </summary>
    public IReadOnlyList<Task> PublishBatchAsync(IReadOnlyList<(long? OutboxId, string Type, string Payload)> events)
    {
        var database = redis.GetDatabase();
        var calls = new List<Task>((events.Count + PerCall - 1) / PerCall);
        for (var start = 0; start < events.Count; start += PerCall)
        {
            var chunk = events.Skip(start).Take(PerCall).ToList();
            var args = new RedisValue[2 + 2 * chunk.Count];
            (args[0], args[1]) = (EventChannel.LogLength, EventChannel.Name);
            for (var i = 0; i < chunk.Count; i++)
            {
                args[2 + 2 * i] = chunk[i].OutboxId is { } id ? id : RedisValue.EmptyString;
                args[3 + 2 * i] = Tail(chunk[i].Type, chunk[i].Payload);
            }
            calls.Add(database.ScriptEvaluateAsync(PublishScript, Keys, args));
        }
        return calls;
    }

    /// <summary>
    /// The outbox ids of the newest <paramref name="count"/> events of the log that came from the outbox (read back page by
    /// page, past any notices in between, at most <paramref name="scan"/> entries).
    /// </summary>
    public async Task<List<long>> PublishedOutboxIdsAsync(int count, int scan)
    {
        var database = redis.GetDatabase();
        var ids = new List<long>(count);
        RedisValue end = "+";
        for (var read = 0; ids.Count < count && read < scan;)
        {
            var page = await database.StreamRangeAsync(EventChannel.Log, "-", end, 1000, Order.Descending);
            ids.AddRange(page.Select(e => e[EventChannel.OutboxField]).Where(v => v.HasValue).Select(v => (long)v));
            if (page.Length < 1000) break;
            read += page.Length;
            end = $"({page[^1].Id}";
        }
        return ids;
    }

    /// <summary>An envelope without its id: what follows <c>{"id":"…",</c> (the script splices the id in).</summary>
    public static string Tail(string type, string payload) =>
        $"\"type\":{JsonSerializer.Serialize(type, WireJson.Options)},\"data\":{payload}}}";

    /// <summary>The envelope as it travels on the channel: <c>{"id":"1764680000000-0","type":"…","data":{…}}</c>.</summary>
    public static string Envelope(string id, string tail) => $"{{\"id\":\"{id}\",{tail}";
}
