using System.Net.Http.Json;
using Npgsql;
using TradingBots.Runner;
using TradingBots.Tests;

[assembly: AssemblyFixture(typeof(TradingBots.IntegrationTests.TopologyFixture))]
// One topology, shared servers: tests that stop Redis must not overlap with the others.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]

namespace TradingBots.IntegrationTests;

/// <summary>
/// Starts the real servers (servers.sh) and the whole topology through the runner, once for the test run, as its own
/// instance: ports offset by 10000 (gateway 18080; TRADINGBOTS_TEST_PORT_OFFSET changes it), its own PostgreSQL cluster
/// (15432) and database (tradingbots_10000, dropped and migrated afresh on every run), its own Redis server (16379) and
/// its own RabbitMQ node (15673), all three stopped at the end, so it runs beside a system the user started and changes
/// nothing of it.
/// </summary>
public sealed class TopologyFixture : IAsyncLifetime
{
    public static int PortOffset { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("TRADINGBOTS_TEST_PORT_OFFSET"), out var offset) && offset != 0 ? offset : 10000;

    public Topology Topology { get; private set; } = null!;
    public HttpClient Gateway { get; private set; } = null!;
    public Manifest Manifest { get; } = Manifest.Load(RepoRoot.File("aspire-manifest.json"));

    /// <summary>The test run's share of the local servers.</summary>
    public LocalServers Servers => field ??= new LocalServers(Manifest, PortOffset);

    public string DatabaseConnectionString => Topology.ConnectionString(ResourceNames.Database);

    public async ValueTask InitializeAsync()
    {
        await Servers.RunScriptAsync(TextWriter.Null, "start");
        await Servers.DropDatabasesAsync(TextWriter.Null);
        // The backtests of earlier runs (their database is gone): job ids start again, so their directories go too.
        var artifacts = Path.Combine(Path.GetDirectoryName(RepoRoot.File("aspire-manifest.json"))!, TestArtifacts);
        if (Directory.Exists(artifacts))
            foreach (var job in Directory.EnumerateDirectories(artifacts).Where(d => long.TryParse(Path.GetFileName(d), out _))) Directory.Delete(job, true);
        Ollama = await OllamaStandIn.StartAsync();
        Topology = await Topology.StartAsync(Manifest, new TopologyOptions
        {
            PortOffset = PortOffset,
            Log = TextWriter.Null,
            Overrides = Overrides(Ollama.Url),
        }, CancellationToken.None);
        Gateway = new HttpClient { BaseAddress = new Uri(Topology.UrlOf(ResourceNames.Gateway)), Timeout = TimeSpan.FromSeconds(30) };
        Sim = new HttpClient { BaseAddress = new Uri(Topology.UrlOf(ResourceNames.ExchangeSim)), Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>The test run's artifacts directory (relative to the services' working directory, the repository root).</summary>
    public const string TestArtifacts = "storage/test-artifacts";

    /// <summary>Environment for the services under test, on top of the manifest's.</summary>
    private static Dictionary<string, IReadOnlyDictionary<string, string>> Overrides(string ollama) => new()
    {
        // The AI service talks to the tests' Ollama stand-in; it waits 1 s for a list, 2 s for a decision.
        [ResourceNames.Ai] = new Dictionary<string, string> { ["OLLAMA_BASE_URL"] = ollama, ["Ai__RequestTimeout"] = "00:00:01", ["Ai__DecisionTimeout"] = "00:00:02" },
        // Heartbeats every second, so a test sees them; a client 2,000 events behind is dropped, so a test can be that client.
        [ResourceNames.Gateway] = new Dictionary<string, string>
        {
            ["Artifacts__Path"] = TestArtifacts,
            ["Sse__Heartbeat"] = "00:00:01",
            ["Sse__ClientBuffer"] = "2000",
        },
        // Backtests write their artifacts (Worker) and serve them (Bots) where the gateway checks: the tests' own directory.
        // Backtests' heartbeats every second, taken over after 4 s of silence, so a takeover test waits seconds, not half a minute.
        [ResourceNames.Worker] = new Dictionary<string, string>
        {
            ["Artifacts__Path"] = TestArtifacts,
            ["Backtests__HeartbeatEvery"] = "00:00:01",
            ["Backtests__StaleAfter"] = "00:00:04",
        },
        [ResourceNames.Bots] = new Dictionary<string, string> { ["Artifacts__Path"] = TestArtifacts },
        // Short enough for the simulator's timeout fault to be seen quickly, long enough for its latency fault's slow answers
        // (WorkerReliabilityTests); notices throttled over a short window.
        [ResourceNames.Market] = new Dictionary<string, string>
        {
            ["Binance__RequestTimeout"] = "00:00:02",
            ["Market__NoticeInterval"] = "00:00:03",
        },
    };

    public HttpClient Sim { get; private set; } = null!;

    /// <summary>The test run's Ollama: a stand-in inside the test process, faithful to Ollama's API, scripted by the tests.</summary>
    public OllamaStandIn Ollama { get; private set; } = null!;

    /// <summary>Pins a simulator price and waits until the market serves it (the ticker cache window has passed).</summary>
    public async Task SetPriceAsync(string unifiedSymbol, decimal price)
    {
        var exchangeSymbol = unifiedSymbol.Replace("/", "");
        using var put = await Sim.PutAsJsonAsync($"/sim/prices/{exchangeSymbol}", new { price });
        put.EnsureSuccessStatusCode();
        await Eventually.UntilAsync(async () =>
        {
            using var response = await Gateway.GetAsync($"/market/tickers?symbols={Uri.EscapeDataString(unifiedSymbol)}");
            if (!response.IsSuccessStatusCode) return false;
            using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return json.RootElement.GetProperty(unifiedSymbol).GetProperty("last").GetDecimal() == price;
        }, $"the market serves {unifiedSymbol} at {price}", TimeSpan.FromSeconds(10));
    }

    public async Task<NpgsqlConnection> OpenDatabaseAsync()
    {
        var connection = new NpgsqlConnection(DatabaseConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Stops the test run's own Redis server (never another).</summary>
    public Task StopRedisAsync() => Servers.RunScriptAsync(TextWriter.Null, "stop", "redis");

    public Task StartRedisAsync() => Servers.RunScriptAsync(TextWriter.Null, "start", "redis");

    /// <summary>Stops the test run's own PostgreSQL cluster (never the machine's).</summary>
    public Task StopPostgresAsync() => Servers.RunScriptAsync(TextWriter.Null, "stop", "postgres");

    public Task StartPostgresAsync() => Servers.RunScriptAsync(TextWriter.Null, "start", "postgres");

    /// <summary>Stops the test run's own RabbitMQ node (never the machine's).</summary>
    public Task StopRabbitMqAsync() => Servers.RunScriptAsync(TextWriter.Null, "stop", "rabbitmq");

    public Task StartRabbitMqAsync() => Servers.RunScriptAsync(TextWriter.Null, "start", "rabbitmq");

    public async ValueTask DisposeAsync()
    {
        Gateway?.Dispose();
        Sim?.Dispose();
        if (Topology is not null) await Topology.DisposeAsync();
        if (Ollama is not null) await Ollama.DisposeAsync();
        await Servers.RunScriptAsync(TextWriter.Null, "stop", "redis", "postgres", "rabbitmq");
    }
}
