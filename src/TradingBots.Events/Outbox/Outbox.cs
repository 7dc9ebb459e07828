using System.Text.Json;
using Npgsql;
using TradingBots.Data;

namespace TradingBots.Events;

/// <summary>
/// The transactional outbox, the one owner of its rules: an event that follows a database write is added to
/// <c>outbox_events</c> in the same transaction (<see cref="Add{T}"/>), the transaction wakes the publisher with
/// <see cref="WakeSql"/>, and after the commit the publisher sends the pending events to the Redis channel in id order
/// (<see cref="PublishPendingAsync"/>) and marks them. So no event leaves for a write that did not commit, and none is
/// lost while Redis is down. One publisher at a time, whatever the number of replicas (<see cref="TryLeadSql"/>).
/// </summary>
public static class Outbox
{
    /// <summary>The PostgreSQL NOTIFY channel a committing transaction wakes the publisher on.</summary>
    public const string WakeChannel = "outbox_events";

    /// <summary>Sent inside the writing transaction: PostgreSQL delivers it to the publisher once the transaction commits.</summary>
    public const string WakeSql = $"NOTIFY {WakeChannel}";

    /// <summary>
    /// Session advisory lock held by the one publishing process. Publishing is then one reader in id order (per account
    /// in commit order: one account's transactions are serialized by its row lock); a standby takes over as soon as the
    /// publisher's session ends (its process died or lost the database).
    /// </summary>
    public const string TryLeadSql = "SELECT pg_try_advisory_lock(7462001)";

    public const int BatchSize = 1000;

    /// <summary>Adds an event to the outbox of the context's transaction; it is published once that commits.</summary>
    public static void Add<T>(TradingDbContext db, string type, T data, DateTimeOffset now) => db.OutboxEvents.Add(new OutboxEvent
    {
        Type = type, Payload = Payload(data), CreatedAt = now,
    });

    /// <summary>An event's data as it is stored and sent: the spec's fields in the spec's order, in the wire's JSON.</summary>
    public static string Payload<T>(T data) => JsonSerializer.Serialize(data, WireJson.Options);

    /// <summary>
    /// Adds many events, in order, to the outbox of the connection's open transaction in one binary COPY (a tick's
    /// thousands of events are one round trip); as with <see cref="Add{T}"/>, the transaction then sends <see cref="WakeSql"/>.
    /// </summary>
    public static async Task AddRangeAsync(NpgsqlConnection connection, IEnumerable<(string Type, string Payload)> events, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync("COPY outbox_events (type, payload, created_at) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var (type, payload) in events)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(type, NpgsqlTypes.NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(payload, NpgsqlTypes.NpgsqlDbType.Json, cancellationToken);
            await copy.WriteAsync(now, NpgsqlTypes.NpgsqlDbType.TimestampTz, cancellationToken);
        }
        await copy.CompleteAsync(cancellationToken);
    }

    /// <summary>
    /// Publishes the oldest unpublished events, in id order, and marks those sent. Complete is false when Redis failed
    /// part-way: what was not sent stays pending, and is sent first next time, after <see cref="MarkPublishedAsync"/> (as
    /// after a crash between publishing and marking).
    /// </summary>
    public static async Task<(int Published, bool Complete)> PublishPendingAsync(NpgsqlConnection connection, EventPublisher events,
        Action<Exception, int> onRedisFailure, CancellationToken cancellationToken)
    {
        var pending = new List<(long Id, string Type, string Payload)>();
        await using (var select = new NpgsqlCommand(
            "SELECT id, type, payload::text FROM outbox_events WHERE published_at IS NULL ORDER BY id LIMIT @n", connection))
        {
            select.Parameters.AddWithValue("n", BatchSize);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) pending.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }

        // Sent all at once and pipelined on the one connection (Redis runs the calls in this order). A call that failed may
        // still have run (a timeout), or run part-way: what the others sent is marked, and before anything is sent again
        // the publisher reads the log for what did go out (MarkPublishedAsync), so no event is in the log twice.
        var calls = events.PublishBatchAsync([.. pending.Select(p => ((long?)p.Id, p.Type, p.Payload))]);
        var sent = new List<long>(pending.Count);
        var complete = true;
        for (var call = 0; call < calls.Count; call++)
        {
            try
            {
                await calls[call];
                sent.AddRange(pending.Skip(call * EventPublisher.PerCall).Take(EventPublisher.PerCall).Select(p => p.Id));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (complete) onRedisFailure(ex, pending.Count - sent.Count);
                complete = false;
            }
        }
        if (sent.Count > 0) await MarkAsync(connection, [.. sent], cancellationToken);
        return (sent.Count, complete);
    }

    /// <summary>
    /// Run by a publisher as it takes the lead, and after a failed publication: the events sent but not marked (by a
    /// predecessor that died, or by a call whose answer was lost) are found in the log's newest outbox entries and marked,
    /// not sent again, so each event is in the log once.
    /// </summary>
    public static async Task<int> MarkPublishedAsync(NpgsqlConnection connection, EventPublisher events, CancellationToken cancellationToken)
    {
        // A batch is the most a publisher can have sent unmarked; the scan reads past up to 20,000 notices published meanwhile.
        var ids = await events.PublishedOutboxIdsAsync(BatchSize, scan: 20 * BatchSize);
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
