using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using TradingBots.Data;

namespace TradingBots.Events;

/// <summary>
/// Runs the outbox's publication in any number of replicas: each waits to hold the outbox's advisory lock, and the one
/// that holds it publishes, woken by the NOTIFY each writer sends (and every second regardless). Any
/// failure (database, Redis, anything else) is logged and retried with backoff from 1 s to 30 s; the host never
/// stops because of it.
/// </summary>
public sealed class OutboxPublisher(IConfiguration configuration, EventPublisher events, TimeProvider time, ILogger<OutboxPublisher> logger)
    : BackgroundService
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MinBackoff = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.FromSeconds(30);
    /// <summary>After a wake-up, a moment for the rest of a burst of commits to land, so they leave as one batch.</summary>
    private static readonly TimeSpan Gather = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan CleanEvery = TimeSpan.FromMinutes(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Its own session (the advisory lock lives as long as it), named so that pg_stat_activity shows who publishes.
        var connectionString = new NpgsqlConnectionStringBuilder(DataExtensions.Prepared(configuration.GetConnectionString(ResourceNames.Database)))
        {
            ApplicationName = $"outbox-publisher:{Environment.ProcessId}",
        };
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var backoff = MinBackoff;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                await LeadAsync(connection, stoppingToken);
                var recovered = await Outbox.MarkPublishedAsync(connection, events, stoppingToken);
                logger.LogInformation("Outbox: this process publishes ({Recovered} event(s) its predecessor sent, now marked)", recovered);
                await PublishAsync(connection, () => backoff = MinBackoff, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning("Outbox: {Error} ({Message}); retrying in {Delay} s", ex.GetType().Name, ex.Message, backoff.TotalSeconds);
                try { await Task.Delay(backoff, time, stoppingToken); }
                catch (OperationCanceledException) { return; }
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    /// <summary>Returns once this session holds the publisher's lock; a standby asks again every second.</summary>
    private async Task LeadAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var waiting = false;
        while (true)
        {
            await using var tryLead = new NpgsqlCommand(Outbox.TryLeadSql, connection);
            if ((bool)(await tryLead.ExecuteScalarAsync(cancellationToken))!) return;
            if (!waiting) logger.LogInformation("Outbox: another process publishes; standing by");
            waiting = true;
            await Task.Delay(Idle, time, cancellationToken);
        }
    }

    private async Task PublishAsync(NpgsqlConnection connection, Action healthy, CancellationToken cancellationToken)
    {
        await using (var listen = new NpgsqlCommand($"LISTEN {Outbox.WakeChannel}", connection))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken);
        }
        // A NOTIFY that arrives while this session runs its own queries is consumed by them, not by WaitAsync: remember
        // it, or the events of that commit would wait for the idle second.
        var woken = 0;
        connection.Notification += (_, _) => Volatile.Write(ref woken, 1);
        var cleaned = DateTimeOffset.MinValue;
        while (true)
        {
            Volatile.Write(ref woken, 0);
            if (time.GetUtcNow() - cleaned > CleanEvery)
            {
                await using var clean = new NpgsqlCommand(Outbox.CleanSql, connection);
                await clean.ExecuteNonQueryAsync(cancellationToken);
                cleaned = time.GetUtcNow();
            }
            var (published, complete) = await Outbox.PublishPendingAsync(connection, events,
                (ex, waiting) => logger.LogWarning("Outbox: Redis unavailable ({Message}); {Count} event(s) wait", ex.Message, waiting),
                cancellationToken);
            if (!complete)
            {
                // Redis failed: try again shortly, first marking what went out regardless (that call throws while Redis is down).
                await Task.Delay(Idle, time, cancellationToken);
                while (true)
                {
                    try
                    {
                        await Outbox.MarkPublishedAsync(connection, events, cancellationToken);
                        break;
                    }
                    catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
                    {
                        await Task.Delay(Idle, time, cancellationToken);
                    }
                }
                continue;
            }
            healthy();
            // Caught up: sleep until a NOTIFY (or a second), then let the rest of a burst land.
            if (published < Outbox.BatchSize && (Volatile.Read(ref woken) == 1 || await connection.WaitAsync(Idle, cancellationToken)))
            {
                await Task.Delay(Gather, time, cancellationToken);
            }
        }
    }
}
