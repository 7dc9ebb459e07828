using Npgsql;
using StackExchange.Redis;
using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Paper;

namespace TradingBots.Trading;

/// <summary>
/// Publishes committed outbox events to the Redis channel, in id order, and marks them published. Woken by the
/// NOTIFY of each committing transaction (and every second regardless). While Redis is down it stops at the
/// first event that fails and tries again, so after Redis returns every committed event arrives, in order per
/// account (one account's transactions are serialized, so their ids are in commit order). Delivery is at least
/// once: a crash between publishing and marking re-sends that batch; the envelope's id lets readers drop repeats.
/// </summary>
public sealed class OutboxPublisher(IConfiguration configuration, EventPublisher events, ILogger<OutboxPublisher> logger) : BackgroundService
{
    private const int BatchSize = 500;
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(1);
    /// <summary>After a wake-up, a moment for the rest of a burst of commits to land, so they leave as one batch.</summary>
    private static readonly TimeSpan Gather = TimeSpan.FromMilliseconds(5);
    /// <summary>Published events are kept a week (readers that were away can catch up by id); idempotency keys a day.</summary>
    private static readonly TimeSpan CleanEvery = TimeSpan.FromMinutes(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using var dataSource = NpgsqlDataSource.Create(configuration.GetConnectionString(ResourceNames.Database)!);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                await using (var listen = new NpgsqlCommand($"LISTEN {PaperEngine.OutboxChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }
                var cleaned = DateTime.MinValue;
                while (!stoppingToken.IsCancellationRequested)
                {
                    if (DateTime.UtcNow - cleaned > CleanEvery)
                    {
                        await using var clean = new NpgsqlCommand("""
                            DELETE FROM outbox_events WHERE published_at < now() - interval '7 days';
                            DELETE FROM idempotency_keys WHERE created_at < now() - interval '1 day'
                            """, connection);
                        await clean.ExecuteNonQueryAsync(stoppingToken);
                        cleaned = DateTime.UtcNow;
                    }
                    var (published, complete) = await PublishBatchAsync(connection, stoppingToken);
                    if (!complete) await Task.Delay(Idle, stoppingToken);          // Redis refused: try again shortly.
                    else if (published < BatchSize && await connection.WaitAsync(Idle, stoppingToken)) // Caught up: sleep until NOTIFY.
                    {
                        await Task.Delay(Gather, stoppingToken);
                    }
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Outbox: database unavailable ({Message}); retrying", ex.Message);
                await Task.Delay(Idle, stoppingToken);
            }
        }
    }

    /// <summary>Publishes the oldest unpublished events; complete is false when Redis failed part-way.</summary>
    private async Task<(int Published, bool Complete)> PublishBatchAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var pending = new List<(long Id, string Type, string Payload)>();
        await using (var select = new NpgsqlCommand(
            "SELECT id, type, payload::text FROM outbox_events WHERE published_at IS NULL ORDER BY id LIMIT @n", connection))
        {
            select.Parameters.AddWithValue("n", BatchSize);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken)) pending.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }

        var sent = new List<long>(pending.Count);
        var complete = true;
        foreach (var (id, type, payload) in pending)
        {
            try
            {
                using var data = System.Text.Json.JsonDocument.Parse(payload);
                await events.PublishRawAsync(EventPublisher.Envelope(id, type, data.RootElement));
                sent.Add(id);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                logger.LogWarning("Outbox: Redis unavailable ({Message}); {Count} event(s) wait", ex.Message, pending.Count - sent.Count);
                complete = false;
                break;
            }
        }
        if (sent.Count > 0)
        {
            await using var mark = new NpgsqlCommand("UPDATE outbox_events SET published_at = now() WHERE id = ANY(@ids)", connection);
            mark.Parameters.AddWithValue("ids", sent.ToArray());
            await mark.ExecuteNonQueryAsync(cancellationToken);
        }
        return (sent.Count, complete);
    }
}
