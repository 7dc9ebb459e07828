using System.Collections.Concurrent;
using System.Net;
using Npgsql;
using StackExchange.Redis;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>
/// The test run is an instance of its own: a system the user runs (the run command: PostgreSQL on 5433, Redis on 6380,
/// RabbitMQ on 5673, data in storage/apphost) sees none of its rows or events, and its outages stop only its own servers.
/// </summary>
public sealed class IsolationTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_test_run_has_its_own_servers_with_their_data_in_its_own_folder()
    {
        var database = new NpgsqlConnectionStringBuilder(topology.DatabaseConnectionString);
        var redis = ConfigurationOptions.Parse(topology.RedisConnectionString).EndPoints.Single() switch
        {
            IPEndPoint ip => ip.Port, DnsEndPoint dns => dns.Port, var other => throw new InvalidOperationException($"{other}"),
        };
        var rabbit = new Uri(topology.RabbitMqConnectionString);

        // Not the ports of the run command's servers, nor of servers the machine may have at their defaults.
        Assert.DoesNotContain(database.Port, new[] { 5432, 5433 });
        Assert.DoesNotContain(redis, new[] { 6379, 6380 });
        Assert.DoesNotContain(rabbit.Port, new[] { 5672, 5673 });
        // The PostgreSQL cluster answering there is the one in the run's own folder (its pid file's 4th line is its port);
        var postmaster = File.ReadAllLines(Path.Combine(topology.Data, "postgres", "postmaster.pid"));
        Assert.Equal($"{database.Port}", postmaster[3]);
        // the Redis server there is the resource's own process, which the outage tests stop;
        Assert.StartsWith($"redis-server 127.0.0.1:{redis}", File.ReadAllText($"/proc/{await topology.ProcessIdOfAsync(ResourceNames.Redis)}/cmdline"));
        // and the RabbitMQ node keeps its data in the run's folder.
        Assert.True(Directory.Exists(Path.Combine(topology.Data, "rabbitmq", "mnesia")));
    }

    private const string UserDatabase = "Host=127.0.0.1;Port=5433;Username=tradingbots;Password=tradingbots;Database=tradingbots;Timeout=3";
    private const int UserRedisPort = 6380;

    /// <summary>
    /// With the run command's system running, orders, a close and a Redis outage of the test run write nothing into that
    /// system's database and put nothing on its channel. The user's system is live (its bots tick, re-mark and renew
    /// leases meanwhile), so the check looks for what only the test run can have made: fills at a price pinned on the
    /// test run's own exchange, which the user's exchange never quotes.
    /// </summary>
    [Fact]
    public async Task A_system_running_beside_the_tests_sees_nothing_of_them()
    {
        const decimal marker = 100000.37m;
        var before = await OrdersFilledAtAsync(UserDatabase, marker);
        Assert.SkipWhen(before is null, "no system of the run command runs (database tradingbots on 5433): start it to check this");
        await using var userRedis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{UserRedisPort},abortConnect=false,connectTimeout=2000");
        Assert.SkipUnless(userRedis.IsConnected, $"no Redis answers at 127.0.0.1:{UserRedisPort}");
        var seen = new ConcurrentQueue<string>();
        (await userRedis.GetSubscriber().SubscribeAsync(RedisChannel.Literal("events"))).OnMessage(m => seen.Enqueue(m.Message.ToString()));

        await using var events = await EventListener.StartAsync(topology);
        await topology.SetPriceAsync("BTC/USDT", marker);
        var bot = await topology.CreateBotAsync();
        var (bought, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 100 });
        Assert.Equal(HttpStatusCode.Created, bought.StatusCode);
        var (manual, _) = await topology.PostOrderAsync(new { symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 10 });
        Assert.Equal(HttpStatusCode.Created, manual.StatusCode);
        using (var close = await topology.Gateway.PostAsync($"/api/trades/{body.GetProperty("trade_id").GetInt64()}/close", null, Cancel))
        {
            Assert.Equal(HttpStatusCode.OK, close.StatusCode);
        }
        // The test run's own channel carried them, with the marker price (so they were published, just not there).
        var closed = await events.WaitForAsync(e => EventListener.Is(e, "trade.closed", bot), seconds: 20);
        Assert.Contains("100000.37", closed.Single().GetRawText());
        await topology.StopRedisAsync();
        await topology.StartRedisAsync();
        Assert.True(userRedis.IsConnected, "the user's Redis is still up after the test run stopped its own");

        Assert.Equal(before, await OrdersFilledAtAsync(UserDatabase, marker));
        Assert.DoesNotContain(seen, message => message.Contains("100000.37", StringComparison.Ordinal));
    }

    /// <summary>How many orders of the user's database filled at this price, or null when it cannot be read.</summary>
    private static async Task<long?> OrdersFilledAtAsync(string connectionString, decimal price)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(Cancel);
            await using var count = new NpgsqlCommand("SELECT count(*) FROM orders WHERE price = @price", connection);
            count.Parameters.AddWithValue("price", price);
            return (long)(await count.ExecuteScalarAsync(Cancel))!;
        }
        catch (PostgresException ex) when (ex.SqlState is "3D000" or "42501" or "28P01" or "42P01")
        {
            return null; // no such database (or not yet migrated), or not ours to read
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            return null; // no server there
        }
    }
}
