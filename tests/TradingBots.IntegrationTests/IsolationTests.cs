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

    /// <summary>
    /// servers.sh, given a PostgreSQL cluster that is not its own (the machine's, as on 5432), creates the project's role
    /// and changes nothing else: every other role (the postgres superuser's password included) and every database's
    /// owner (a tradingbots database someone else owns included) are as they were. The cluster is a scratch one this
    /// test creates on a free port and removes, so the machine's own cluster is never touched.
    /// </summary>
    [Fact]
    public async Task Servers_script_creates_its_own_role_and_leaves_every_other_role_as_it_was()
    {
        Assert.SkipUnless(Environment.UserName == "root", "a scratch cluster needs the postgres OS account (root here)");
        // Every statement below goes to the scratch cluster (its own socket directory and port), never the machine's.
        await using var cluster = await ScratchCluster.StartAsync();
        await cluster.SqlAsync("ALTER ROLE postgres PASSWORD 'the-users-own'");
        await cluster.SqlAsync("CREATE ROLE someone LOGIN PASSWORD 'theirs'");
        await cluster.SqlAsync("CREATE DATABASE tradingbots OWNER someone");
        const string roles = "SELECT md5(string_agg(a::text, '|' ORDER BY rolname)) FROM pg_authid a WHERE rolname <> 'probe'";
        const string owners = "SELECT md5(string_agg(datname || ':' || pg_get_userbyid(datdba), ',' ORDER BY datname)) FROM pg_database";
        var (rolesBefore, ownersBefore) = (await cluster.SqlAsync(roles), await cluster.SqlAsync(owners));

        var (exit, output) = await RunAsync("bash", [Path.Combine(OwnAppHost.RepoRoot, "src", "TradingBots.Runner", "servers.sh"), "start", "postgres"],
            new() { ["PG_PORT"] = $"{cluster.Port}", ["PGHOST"] = cluster.Directory, ["TRADINGBOTS_DB_ROLE"] = "probe", ["TRADINGBOTS_DB_PASSWORD"] = "probe-password" });
        Assert.True(exit == 0, output);
        Assert.Contains("role probe ready", output);
        Assert.DoesNotContain("creating a PostgreSQL cluster of our own", output);

        Assert.Equal(rolesBefore, await cluster.SqlAsync(roles));
        Assert.Equal(ownersBefore, await cluster.SqlAsync(owners));
        await using var login = new NpgsqlConnection($"Host=127.0.0.1;Port={cluster.Port};Username=probe;Password=probe-password;Database=postgres");
        await login.OpenAsync(Cancel);
        await using var attributes = new NpgsqlCommand("SELECT rolcreatedb, rolsuper FROM pg_roles WHERE rolname = current_user", login);
        await using var reader = await attributes.ExecuteReaderAsync(Cancel);
        Assert.True(await reader.ReadAsync(Cancel));
        Assert.Equal((true, false), (reader.GetBoolean(0), reader.GetBoolean(1)));

        // And drop-database refuses a cluster it did not create.
        var (dropExit, dropOutput) = await RunAsync("bash", [Path.Combine(OwnAppHost.RepoRoot, "src", "TradingBots.Runner", "servers.sh"), "drop-database", "tradingbots_1"],
            new() { ["PG_PORT"] = $"{cluster.Port}", ["TRADINGBOTS_DB_ROLE"] = "probe", ["TRADINGBOTS_DB_PASSWORD"] = "probe-password" });
        Assert.NotEqual(0, dropExit);
        Assert.Contains("not a cluster this script created", dropOutput);
    }

    /// <summary>A PostgreSQL cluster of the test's own, in a temporary directory on a free port, superuser postgres.</summary>
    private sealed class ScratchCluster : IAsyncDisposable
    {
        public required string Directory { get; init; }
        public required int Port { get; init; }

        private static string Bin(string name) => Path.Combine(
            System.IO.Directory.GetDirectories("/usr/lib/postgresql").OrderBy(d => int.Parse(Path.GetFileName(d))).Last(), "bin", name);

        public static async Task<ScratchCluster> StartAsync()
        {
            var directory = Path.Combine(Path.GetTempPath(), $"tradingbots-scratch-pg-{Guid.NewGuid():N}");
            System.IO.Directory.CreateDirectory(directory);
            var cluster = new ScratchCluster { Directory = directory, Port = FreePort() };
            try
            {
                await AsPostgresAsync($"chmod 700 '{directory}'", chown: directory);
                await AsPostgresAsync($"{Bin("initdb")} -D '{directory}/data' -U postgres --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8");
                await AsPostgresAsync($"{Bin("pg_ctl")} -D '{directory}/data' -l '{directory}/server.log' -w -t 60 -o \"-p {cluster.Port} -c listen_addresses=127.0.0.1 -k '{directory}'\" start");
                return cluster;
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }

        public Task<string> SqlAsync(string sql) =>
            AsPostgresAsync($"psql -h '{Directory}' -p {Port} -d postgres -qtAX -v ON_ERROR_STOP=1 -c \"{sql.Replace("\"", "\\\"")}\"");

        public async ValueTask DisposeAsync()
        {
            if (File.Exists(Path.Combine(Directory, "data", "postmaster.pid")))
                await RunAsync("su", ["postgres", "-c", $"{Bin("pg_ctl")} -D '{Directory}/data' -m immediate -w stop"], []);
            System.IO.Directory.Delete(Directory, recursive: true);
        }

        private static int FreePort()
        {
            using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        private static async Task<string> AsPostgresAsync(string command, string? chown = null)
        {
            if (chown is not null) Assert.Equal(0, (await RunAsync("chown", ["postgres:", chown], [])).Exit);
            var (exit, output) = await RunAsync("su", ["postgres", "-c", command], []);
            Assert.True(exit == 0, output);
            return output.Trim();
        }
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, string[] arguments, Dictionary<string, string> environment)
    {
        var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(Cancel);
        var errors = process.StandardError.ReadToEndAsync(Cancel);
        await process.WaitForExitAsync(Cancel);
        return (process.ExitCode, await output + await errors);
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
