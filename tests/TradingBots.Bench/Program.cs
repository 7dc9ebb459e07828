extern alias apphost;

using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Reflection;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Npgsql;
using TradingBots;
using TradingBots.Bench;
using TradingBots.Tests;

// Benchmarks of the running system, each next to a reference measured in the same run on the same machine:
//   dotnet run -c Release --project tests/TradingBots.Bench [-- tickers|orders|ticks|sse|backtest|memory] [--seconds N]
// Starts the system through the AppHost as an instance of its own, measures, writes tests/TradingBots.Bench/results/<date>.md.
var only = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal) && !int.TryParse(a, out _));
var seconds = args.SkipWhile(a => a != "--seconds").Skip(1).Select(int.Parse).FirstOrDefault(10);
var duration = TimeSpan.FromSeconds(seconds);
var configuration = typeof(Ticks).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration;
var report = new StringBuilder($"# Benchmark {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC ({configuration}, {Environment.ProcessorCount} cores, {seconds} s per point)\n\n");
void Say(string line) { Console.WriteLine(line); report.AppendLine(line); }

// A diagnosis: BENCH_SERVICES_ENV="NAME=value;NAME=value" is given to every service (a runtime knob, say), and said in the report.
var servicesEnvironment = (Environment.GetEnvironmentVariable("BENCH_SERVICES_ENV") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries)
    .Select(pair => pair.Split('=', 2)).Select(pair => (Name: pair[0], Value: pair[1])).ToList();
if (servicesEnvironment.Count > 0) Say($"Every service started with {string.Join(", ", servicesEnvironment.Select(e => $"`{e.Name}={e.Value}`"))}.\n");

// Its own instance of the AppHost (OwnAppHost: its own PostgreSQL cluster, Redis server and RabbitMQ node, fresh, their
// ports Aspire's to pick), the Worker logging each tick's breakdown at Debug. For `memory`, with the Aspire dashboard, as
// the run command has it: the services then export their traces, metrics and logs to it, and that is part of their memory.
await using var host = await OwnAppHost.StartAsync<apphost::Projects.TradingBots_AppHost>("bench", "17000-21999", dashboard: only is "memory", configure: builder =>
{
    var worker = builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(r => r.Name == ResourceNames.Worker));
    foreach (var (name, value) in Ticks.WorkerOverrides) worker.WithEnvironment(name, value);
    foreach (var project in builder.Resources.OfType<ProjectResource>().ToList())
        foreach (var (name, value) in servicesEnvironment) builder.CreateResourceBuilder(project).WithEnvironment(name, value);
});
await host.WaitUntilReadyAsync(CancellationToken.None);
var workerLog = ResourceLog.Watch(host.App, ResourceNames.Worker);
async Task<string> ConnectionString(string resource) => (await host.App.GetConnectionStringAsync(resource))!;
var (database, postgres, redisConnection) = (await ConnectionString(ResourceNames.Database), await ConnectionString(ResourceNames.Postgres), await ConnectionString(ResourceNames.Redis));
var gatewayUrl = host.App.GetEndpoint(ResourceNames.Gateway, "http").ToString().TrimEnd('/');
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512 }) { BaseAddress = new Uri(gatewayUrl) };
using var sim = new HttpClient { BaseAddress = new Uri(host.App.GetEndpoint(ResourceNames.ExchangeSim, "http").ToString()) };
async Task<bool> Ok(Task<HttpResponseMessage> call) { using var response = await call; return response.IsSuccessStatusCode; }

if (only is null or "tickers")
{
    Say("## Tickers through the gateway (warm cache)\n");
    Say("Reference: GET /alive on the gateway (same HTTP stack, no work). Ratio = tickers / reference.\n");
    Say("```");
    // Warm-up (JIT tiers, connection pools), not reported.
    await Load.RunAsync(16, TimeSpan.FromSeconds(3), _ => Ok(http.GetAsync("/api/market/tickers?symbols=BTC/USDT,ETH/USDT")));
    await Load.RunAsync(16, TimeSpan.FromSeconds(2), _ => Ok(http.GetAsync("/alive")));
    foreach (var concurrency in new[] { 1, 16, 64 })
    {
        var alive = await Load.RunAsync(concurrency, duration, _ => Ok(http.GetAsync("/alive")));
        var tickers = await Load.RunAsync(concurrency, duration, _ => Ok(http.GetAsync("/api/market/tickers?symbols=BTC/USDT,ETH/USDT")));
        Say($"reference {alive}");
        Say($"tickers   {tickers}   ratio {tickers.PerSecond / alive.PerSecond:0.00}");
    }
    Say("```\n");

    // Upstream calls while 200 clients ask for overlapping symbols: counted at the simulator.
    string[] queries = ["BTC/USDT,ETH/USDT", "ETH/USDT", "BTC/USDT,SOL/USDT", "SOL/USDT,BNB/USDT,ETH/USDT"];
    var before = await UpstreamCallsAsync();
    var storm = await Load.RunAsync(200, duration, worker => Ok(http.GetAsync($"/api/market/tickers?symbols={queries[worker % queries.Length]}")));
    var calls = await UpstreamCallsAsync() - before;
    Say($"200 concurrent clients, 4 overlapping symbol sets: {storm.PerSecond:0} req/s, p50 {storm.P50Ms:0.00} ms, p99 {storm.P99Ms:0.00} ms, "
        + $"**{calls / storm.Seconds:0.00} upstream calls/s** ({calls} calls in {storm.Seconds:0.0} s; cache window 1 s)\n");
}

if (only is null or "orders")
{
    Say("## POST /orders through the gateway, next to pgbench -N on the same PostgreSQL\n");
    Say("Each worker trades its own bot (its own account): buys of 10 USDT of BTC/USDT at a pinned price.\n");
    using (var put = await sim.PutAsJsonAsync("/sim/prices/BTCUSDT", new { price = 100000m })) put.EnsureSuccessStatusCode();
    await Task.Delay(1100);
    var bots = await CreateBotsAsync(database, 32);
    Task<bool> Order(int worker) => Ok(http.PostAsJsonAsync("/api/orders",
        new { bot_id = bots[worker], symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 10 }));
    await Load.RunAsync(8, TimeSpan.FromSeconds(5), Order); // warm-up (JIT tiers, connection pools), not reported
    Say("```");
    foreach (var concurrency in new[] { 1, 8, 32 })
    {
        var orders = await Load.RunAsync(concurrency, duration, Order);
        var tps = Pgbench(postgres, "pgbench_reference", concurrency, seconds);
        Say($"orders  {orders}");
        Say($"pgbench -N c={concurrency,-3} {tps,9:0} tps   ratio orders/pgbench {orders.PerSecond / tps:0.00}");
    }
    Say("```\n");
}

if (only is null or "ticks")
{
    Say("## One tick of the Worker's bot loop as bots and open trades grow\n");
    Say($"Bots on {Ticks.Symbol} (baseline fast 1, slow 10, 1 s candles) ticked together by the topology's Worker: every lease made due at once, "
        + "median of 5 ticks per row. The Worker's own breakdown (its Debug line); claim → last progress from the database's timestamps; "
        + "until all on Redis: from making the ticks due until the outbox has nothing unpublished (Trading's publisher). "
        + "The burst rows: a price jump crosses every bot's averages, and each buys 100 USDT through the paper engine in that tick (the Worker's "
        + "first orders); then a fall (each sells what it holds) and a jump again (each buys), bursts of a Worker that traded before.\n");
    await new Ticks(http, sim, database, workerLog, Say).RunAsync(repeats: 5);
    var redis = new Uri($"redis://{redisConnection.Split(',')[0]}");
    Say($"\nReference, same run: `redis-benchmark -c 1 -n 100000 PUBLISH` (one client, one command at a time, like the outbox publisher): "
        + $"**{RedisPublishPerSecond(redis.Host, redis.Port):0} PUBLISH/s**; `pgbench -N -c 1`: **{Pgbench(postgres, "pgbench_reference", 1, seconds):0} tps**.\n");
}

if (only is null or "sse")
{
    Say("## GET /sse with 1,000 and 10,000 clients\n");
    Say("Every client a real HTTP connection to the gateway reading its stream (in this process, on the same 2 cores as the gateway and "
        + "Redis); system.notice events published by the product's publisher on the bench's Redis at a steady rate, each carrying its "
        + "publication time: latency is PUBLISH → read by the client, over every delivery. RSS per client: the gateway's resident memory "
        + "after connecting them, less before, over their number.\n");
    var gatewayPid = await host.ProcessIdOfAsync(ResourceNames.Gateway);
    await new Sse(gatewayUrl, redisConnection, () => gatewayPid, Say)
        .RunAsync([1000, 10000], rates: [5, 20], duration);
    var redis = new Uri($"redis://{redisConnection.Split(',')[0]}");
    Say($"\nReference, same run: `redis-benchmark -c 1 -n 100000 PUBLISH`: **{RedisPublishPerSecond(redis.Host, redis.Port):0} PUBLISH/s**.\n");
}

if (only is null or "backtest")
{
    Say("## Backtests: the loop, and a year of 1m candles end to end\n");
    var workerPid = await host.ProcessIdOfAsync(ResourceNames.Worker);
    await new BacktestBench(http, database, () => workerPid, Say).RunAsync(repeats: 5);
}

if (only is "memory")
{
    Say("## Resident memory of each service, idle after use\n");
    await new MemoryBench(http, host.ProcessIdOfAsync, Say).RunAsync();
}

var path = Path.Combine(RepoRoot.Directory, "tests", "TradingBots.Bench", "results", $"{DateTime.UtcNow:yyyy-MM-dd-HHmm}.md");
Directory.CreateDirectory(Path.GetDirectoryName(path)!);
await File.WriteAllTextAsync(path, report.ToString());
Console.WriteLine($"written to {path}");

async Task<int> UpstreamCallsAsync()
{
    using var stats = JsonDocument.Parse(await sim.GetStringAsync("/sim/stats"));
    return stats.RootElement.GetProperty("requests").TryGetProperty("/api/v3/ticker/24hr", out var count) ? count.GetInt32() : 0;
}

static async Task<long[]> CreateBotsAsync(string connectionString, int count)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var insert = new NpgsqlCommand("""
        INSERT INTO bots (name, symbols, timeframe, paper_mode, strategy, knobs, status, stop_requested, created_at, updated_at)
        SELECT 'bench-' || gen_random_uuid(), ARRAY['BTC/USDT'], '1m', true, 'baseline', '{"starting_cash": 1000000000}', 'stopped', false, now(), now()
        FROM generate_series(1, @n) RETURNING id
        """, connection);
    insert.Parameters.AddWithValue("n", count);
    var ids = new List<long>();
    await using var reader = await insert.ExecuteReaderAsync();
    while (await reader.ReadAsync()) ids.Add(reader.GetInt64(0));
    return [.. ids];
}

// redis-benchmark's PUBLISH rate with one client and no pipelining, on the bench's own Redis.
static double RedisPublishPerSecond(string host, int port)
{
    var start = new ProcessStartInfo("redis-benchmark", $"-h {host} -p {port} -c 1 -n 100000 -q PUBLISH bench-reference x")
    { RedirectStandardOutput = true, RedirectStandardError = true };
    using var process = Process.Start(start)!;
    var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
    process.WaitForExit();
    var rate = Regex.Matches(output, @"([0-9.]+) requests per second").LastOrDefault();
    return rate is not null ? double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture) : throw new InvalidOperationException(output);
}

// pgbench's simple-update transaction (-N) on its own database of the same server, as the reference.
static double Pgbench(string serverConnectionString, string database, int clients, int seconds)
{
    var server = new NpgsqlConnectionStringBuilder(serverConnectionString);
    var environment = new Dictionary<string, string> { ["PGPASSWORD"] = server.Password ?? "" };
    string Run(string arguments)
    {
        var start = new ProcessStartInfo("pgbench", $"-h {server.Host} -p {server.Port} -U {server.Username} {arguments}")
        { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (k, v) in environment) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return output;
    }
    using (var connection = new NpgsqlConnection(serverConnectionString))
    {
        connection.Open();
        using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
        exists.Parameters.AddWithValue("name", database);
        if (exists.ExecuteScalar() is null)
        {
            using var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", connection);
            create.ExecuteNonQuery();
            Run($"-i -q -s 1 {database}");
        }
    }
    var result = Run($"-N -c {clients} -j {Math.Min(clients, 2)} -T {seconds} {database}");
    var tps = Regex.Match(result, @"tps = ([0-9.]+)");
    return tps.Success ? double.Parse(tps.Groups[1].Value, CultureInfo.InvariantCulture) : throw new InvalidOperationException(result);
}
