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
        PublishBatchAsync([(null, Tail(type, Outbox.Payload(data)))])[0].Call;

    /// <summary>
    /// Publishes events (envelopes without their ids, <see cref="Tail"/>) in this order, pipelined in calls of about
    /// <see cref="PerCall"/>; the events of one outbox row always share a call, so a row is either all in the log or not
    /// at all. Each call's task completes when it did, with the number of events it carried (a failed call fails its
    /// events and leaves the ones after it to the caller). The OutboxId is recorded with the event in the log, so a
    /// publisher that died before marking its batch finds out what it had already sent (<see cref="PublishedOutboxIdsAsync"/>).
    /// </summary>
    public IReadOnlyList<(Task Call, int Count)> PublishBatchAsync(IReadOnlyList<(long? OutboxId, RedisValue Tail)> events)
    {
        var database = redis.GetDatabase();
        var calls = new List<(Task, int)>();
        foreach (var (start, end) in Calls([.. events.Select(e => e.OutboxId)]))
        {
            var args = new RedisValue[2 + 2 * (end - start)];
            (args[0], args[1]) = (EventChannel.LogLength, EventChannel.Name);
            for (var i = start; i < end; i++)
            {
                args[2 + 2 * (i - start)] = events[i].OutboxId is { } id ? id : RedisValue.EmptyString;
                args[3 + 2 * (i - start)] = events[i].Tail;
            }
            calls.Add((database.ScriptEvaluateAsync(PublishScript, Keys, args), end - start));
        }
        return calls;
    }

    /// <summary>
    /// How events (by the outbox row each came from; null: none) are split into calls: up to <see cref="PerCall"/> each,
    /// ending where a row does (before the row a call would cut, or after it when that row alone is longer than a call).
    /// </summary>
    public static List<(int Start, int End)> Calls(IReadOnlyList<long?> rows)
    {
        var calls = new List<(int, int)>(rows.Count / PerCall + 1);
        for (var start = 0; start < rows.Count;)
        {
            var end = Math.Min(start + PerCall, rows.Count);
            var cut = end;
            while (cut > start && cut < rows.Count && SameRow(cut)) cut--;
            if (cut > start) end = cut;
            else while (end < rows.Count && SameRow(end)) end++;
            calls.Add((start, end));
            start = end;
        }
        return calls;

        bool SameRow(int i) => rows[i] is { } row && rows[i - 1] == row;
    }

    /// <summary>
    /// The outbox ids, from <paramref name="since"/> on, of the newest events of the log that came from the outbox: read
    /// back page by page from the newest, past any notices in between, until an older outbox id (the log is in outbox id
    /// order) or <paramref name="scan"/> entries.
    /// </summary>
    public async Task<HashSet<long>> PublishedOutboxIdsAsync(long since, int scan)
    {
        var database = redis.GetDatabase();
        var ids = new HashSet<long>();
        RedisValue end = "+";
        for (var read = 0; read < scan;)
        {
            var page = await database.StreamRangeAsync(EventChannel.Log, "-", end, 1000, Order.Descending);
            foreach (var entry in page)
            {
                if (entry[EventChannel.OutboxField] is not { HasValue: true } value) continue;
                if ((long)value < since) return ids;
                ids.Add((long)value);
            }
            if (page.Length < 1000) break;
            read += page.Length;
            end = $"({page[^1].Id}";
        }
        return ids;
    }

    /// <summary>An envelope without its id: what follows <c>{"id":"…",</c> (the script splices the id in).</summary>
    public static string Tail(string type, string payload) => string.Concat(TailHead(type), payload, "}");

    /// <summary>The same tail written onto <paramref name="to"/> (a batch of them), without a string of its own.</summary>
    public static System.Text.StringBuilder AppendTail(System.Text.StringBuilder to, string type, string payload) =>
        to.Append(TailHead(type)).Append(payload).Append('}');

    /// <summary>A tail's beginning, <c>"type":"…","data":</c>, written once per event type.</summary>
    private static string TailHead(string type) =>
        TailHeads.GetOrAdd(type, static type => $"\"type\":{JsonSerializer.Serialize(type, WireJson.Options)},\"data\":");

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> TailHeads = new(StringComparer.Ordinal);

    /// <summary>The envelope as it travels on the channel: <c>{"id":"1764680000000-0","type":"…","data":{…}}</c>.</summary>
    public static string Envelope(string id, string tail) => $"{{\"id\":\"{id}\",{tail}";
}
