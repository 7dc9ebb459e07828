using Microsoft.Extensions.Configuration;
using Npgsql;
using TradingBots.Data;

namespace TradingBots.Events;

/// <summary>
/// Wakes the outbox publisher after a commit (<see cref="Outbox.WakeSql"/>), off the writer's path: <see cref="Wake"/> returns
/// at once, and this process's one NOTIFY in flight on a connection of its own covers every commit that asked before it
/// was sent; a commit that asks while one is in flight gets one more after it. So every commit is followed by a NOTIFY
/// sent after it, and a burst of a thousand orders sends a few instead of a thousand. Not inside the transaction: a
/// transaction that sent NOTIFY holds a lock of the whole database from its commit until that commit is on disk, so
/// notifying transactions could not share a disk flush. A NOTIFY that fails is dropped: the publisher looks every second.
/// </summary>
public sealed class OutboxWaker : IAsyncDisposable
{
    private readonly NpgsqlDataSource? _database;
    private readonly Func<Task> _notify;

    /// <summary>NOTIFY on a connection of its own (the database of <c>ConnectionStrings:tradingbots</c>).</summary>
    public OutboxWaker(IConfiguration configuration)
    {
        var database = new NpgsqlDataSourceBuilder(DataExtensions.Prepared(configuration.GetConnectionString(ResourceNames.Database)))
        {
            ConnectionStringBuilder = { ApplicationName = $"outbox-waker:{Environment.ProcessId}", MaxPoolSize = 1 },
        }.Build();
        _database = database;
        _notify = async () =>
        {
            await using var notify = database.CreateCommand(Outbox.WakeSql);
            await notify.ExecuteNonQueryAsync();
        };
    }

    /// <summary>Sends by <paramref name="notify"/> instead (the rule of when, tested apart from the database).</summary>
    public OutboxWaker(Func<Task> notify) => _notify = notify;

    /// <summary>0: nothing in flight; 1: a NOTIFY in flight; 2: in flight, and another asked for after it.</summary>
    private int _state;

    /// <summary>Asks for a NOTIFY sent after this call (call it after the commit).</summary>
    public void Wake()
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if (state == 2) return;
            if (Interlocked.CompareExchange(ref _state, state + 1, state) != state) continue;
            if (state == 0) _ = SendAsync();
            return;
        }
    }

    private async Task SendAsync()
    {
        do
        {
            // From here, a Wake() needs a NOTIFY after this one.
            Volatile.Write(ref _state, 1);
            try
            {
                // Not back to the caller's context: the next round starts wherever this NOTIFY ended.
                await _notify().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Whatever failed (the database, a shutdown): the publisher still looks every second, and the next Wake() sends again.
            }
        }
        while (Interlocked.CompareExchange(ref _state, 0, 1) != 1);
    }

    public ValueTask DisposeAsync() => _database?.DisposeAsync() ?? ValueTask.CompletedTask;
}
