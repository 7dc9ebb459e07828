using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;
using TradingBots.Data;

namespace TradingBots.Events;

/// <summary>
/// The transactional outbox, the one owner of its rules: an event that follows a database write is added to
/// <c>outbox_events</c> in the same transaction (<see cref="Add{T}"/>), the writer wakes the publisher (<see cref="WakeSql"/>,
/// <see cref="OutboxWaker"/>), and after the commit the publisher sends the pending events to the Redis channel in id order
/// (<see cref="PublishPendingAsync"/>) and marks them. So no event leaves for a write that did not commit, and none is
/// lost while Redis is down. One publisher at a time, whatever the number of replicas (<see cref="TryLeadSql"/>).
/// </summary>
public static class Outbox
{
    /// <summary>The PostgreSQL NOTIFY channel a committing transaction wakes the publisher on.</summary>
    public const string WakeChannel = "outbox_events";

    /// <summary>
    /// Sent inside a writing transaction, PostgreSQL delivers it to the publisher once the transaction commits: for writes
    /// that are rare (a bot started or stopped). Writes that come by the hundred wake it after their commit instead
    /// (<see cref="OutboxWaker"/>).
    /// </summary>
    public const string WakeSql = $"NOTIFY {WakeChannel}";

    /// <summary>
    /// Session advisory lock held by the one publishing process. Publishing is then one reader in id order (per account
    /// in commit order: one account's transactions are serialized by its row lock); a standby takes over as soon as the
    /// publisher's session ends (its process died or lost the database).
    /// </summary>
    public const string TryLeadSql = "SELECT pg_try_advisory_lock(7462001)";

    /// <summary>
    /// Rows a publisher reads at a time: at most this many × <see cref="EventPublisher.PerCall"/> events, which the
    /// retained log (<see cref="EventChannel.LogLength"/>) holds many times over, so whatever a publisher sent before it
    /// died is still in the log for its successor to find.
    /// </summary>
    public const int BatchSize = 250;

    /// <summary>
    /// The type of a row holding several events of one transaction, in their order: its payload is the JSON array of their
    /// envelopes without ids, <c>[{"type":"trade.updated","data":{…}},…]</c>, at most <see cref="EventPublisher.PerCall"/>
    /// of them, published together in one call (all in the log, or none). A tick's hundred thousand events are a thousand
    /// rows to write, read and mark, not a hundred thousand.
    /// </summary>
    public const string Batch = "batch";

    /// <summary>Adds an event to the outbox of the context's transaction; it is published once that commits.</summary>
    public static void Add<T>(TradingDbContext db, string type, T data, DateTimeOffset now) => db.OutboxEvents.Add(new OutboxEvent
    {
        Type = type, Payload = Payload(data), CreatedAt = now,
    });

    /// <summary>An event's data as it is stored and sent: the spec's fields in the spec's order, in the wire's JSON.</summary>
    public static string Payload<T>(T data) => JsonSerializer.Serialize(data, WireJson.Options);

    /// <summary>
    /// Adds many events, in order, to the outbox of the connection's open transaction in one binary COPY, in rows of
    /// <see cref="Batch"/> (one event alone: a row of its own type); after the commit, the writer wakes the publisher
    /// (<see cref="OutboxWaker"/>).
    /// </summary>
    public static async Task AddRangeAsync(NpgsqlConnection connection, IEnumerable<(string Type, string Payload)> events, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync("COPY outbox_events (type, payload, created_at) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var (type, payload) in Rows(events))
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(type, NpgsqlTypes.NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(payload, NpgsqlTypes.NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(now, NpgsqlTypes.NpgsqlDbType.TimestampTz, cancellationToken);
        }
        await copy.CompleteAsync(cancellationToken);
    }

    /// <summary>Events as outbox rows: <see cref="Batch"/> rows of up to <see cref="EventPublisher.PerCall"/>, one alone as itself.</summary>
    public static IEnumerable<(string Type, string Payload)> Rows(IEnumerable<(string Type, string Payload)> events)
    {
        var row = new List<(string Type, string Payload)>(EventPublisher.PerCall);
        var batch = new StringBuilder();
        foreach (var e in events)
        {
            row.Add(e);
            if (row.Count < EventPublisher.PerCall) continue;
            yield return Row();
            row.Clear();
        }
        if (row.Count > 0) yield return Row();

        (string, string) Row()
        {
            if (row.Count == 1) return row[0];
            batch.Clear().Append('[');
            foreach (var (type, payload) in row) EventPublisher.AppendTail(batch.Append(batch.Length == 1 ? "{" : ",{"), type, payload);
            return (Batch, batch.Append(']').ToString());
        }
    }

    /// <summary>
    /// Publishes the oldest unpublished rows' events, in id order, and marks the rows sent. Complete is false when Redis
    /// failed part-way: what was not sent stays pending, and is sent first next time, after <see cref="MarkPublishedAsync"/>
    /// (as after a crash between publishing and marking). Published counts rows.
    /// </summary>
    public static async Task<(int Published, bool Complete)> PublishPendingAsync(NpgsqlConnection connection, EventPublisher events,
        Action<Exception, int> onRedisFailure, CancellationToken cancellationToken)
    {
        var pending = new List<(long? OutboxId, StackExchange.Redis.RedisValue Tail)>();
        await using (var select = new NpgsqlCommand(
            "SELECT id, type, payload FROM outbox_events WHERE published_at IS NULL ORDER BY id LIMIT @n", connection))
        {
            select.Parameters.AddWithValue("n", BatchSize);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var (id, type, payload) = (reader.GetInt64(0), reader.GetString(1), reader.GetString(2));
                if (type == Batch) foreach (var tail in Tails(payload)) pending.Add((id, tail));
                else pending.Add((id, EventPublisher.Tail(type, payload)));
            }
        }

        // Sent all at once and pipelined on the one connection (Redis runs the calls in this order). A call that failed may
        // still have run (a timeout), or run part-way: what the others sent is marked, and before anything is sent again
        // the publisher reads the log for what did go out (MarkPublishedAsync), so no event is in the log twice.
        var sent = new HashSet<long>();
        var complete = true;
        var at = 0;
        foreach (var (call, count) in events.PublishBatchAsync(pending))
        {
            try
            {
                await call;
                for (var i = at; i < at + count; i++) sent.Add(pending[i].OutboxId!.Value);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (complete) onRedisFailure(ex, pending.Count - at);
                complete = false;
            }
            at += count;
        }
        if (sent.Count > 0) await MarkAsync(connection, [.. sent], cancellationToken);
        return (sent.Count, complete);
    }

    /// <summary>The envelopes without ids of a <see cref="Batch"/> row's events (each array element but its opening brace).</summary>
    public static List<ReadOnlyMemory<byte>> Tails(string batch)
    {
        var utf8 = Encoding.UTF8.GetBytes(batch);
        var tails = new List<ReadOnlyMemory<byte>>(EventPublisher.PerCall);
        var reader = new Utf8JsonReader(utf8);
        reader.Read(); // [
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var start = (int)reader.TokenStartIndex + 1;
            reader.Skip();
            tails.Add(utf8.AsMemory(start, (int)reader.BytesConsumed - start));
        }
        return tails;
    }

    /// <summary>
    /// Run by a publisher as it takes the lead, and after a failed publication: the rows sent but not marked (by a
    /// predecessor that died, or by a call whose answer was lost) are found in the log's newest outbox entries and marked,
    /// not sent again, so each event is in the log once.
    /// </summary>
    public static async Task<int> MarkPublishedAsync(NpgsqlConnection connection, EventPublisher events, CancellationToken cancellationToken)
    {
        await using var oldest = new NpgsqlCommand("SELECT min(id) FROM outbox_events WHERE published_at IS NULL", connection);
        if (await oldest.ExecuteScalarAsync(cancellationToken) is not long since) return 0;
        // What was sent unmarked is the log's newest outbox entries from the oldest pending row on, notices in between.
        var ids = await events.PublishedOutboxIdsAsync(since, scan: EventChannel.LogLength);
        return ids.Count == 0 ? 0 : await MarkAsync(connection, [.. ids], cancellationToken);
    }

    private static async Task<int> MarkAsync(NpgsqlConnection connection, long[] ids, CancellationToken cancellationToken)
    {
        await using var mark = new NpgsqlCommand("UPDATE outbox_events SET published_at = now() WHERE id = ANY(@ids) AND published_at IS NULL", connection);
        mark.Parameters.AddWithValue("ids", ids);
        return await mark.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Published events are kept a week (readers that were away can catch up by id); idempotency keys a day.</summary>
    public const string CleanSql = """
        DELETE FROM outbox_events WHERE published_at < now() - interval '7 days';
        DELETE FROM idempotency_keys WHERE created_at < now() - interval '1 day'
        """;
}
