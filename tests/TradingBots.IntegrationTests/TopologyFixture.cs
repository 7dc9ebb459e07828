extern alias apphost;

using System.Diagnostics;
using System.Net.Http.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TradingBots.Tests;

[assembly: AssemblyFixture(typeof(TradingBots.IntegrationTests.TopologyFixture))]
// One topology, shared servers: tests that stop Redis must not overlap with the others.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]

namespace TradingBots.IntegrationTests;

/// <summary>
/// The whole system, once for the test run: the AppHost started through Aspire.Hosting.Testing as an instance of the
/// run's own (<see cref="OwnAppHost"/>: its own PostgreSQL cluster, Redis server and RabbitMQ node, their data in a
/// folder of its own, every port chosen by Aspire), so it runs beside a system the user started and changes nothing of
/// it. Services are reached through the endpoints Aspire resolves; faults go through Aspire too: a server or a service
/// stopped and started with its resource commands, a killed service started again by the AppHost.
/// </summary>
public sealed class TopologyFixture : IAsyncLifetime
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(1);
    private readonly List<Process> _replicas = [];
    private OwnAppHost _host = null!;

    public DistributedApplication App => _host.App;
    public HttpClient Gateway { get; private set; } = null!;
    public HttpClient Sim { get; private set; } = null!;

    /// <summary>Where the services write and serve the backtests' artifacts: the instance's own folder.</summary>
    public string Artifacts => _host.Artifacts;

    /// <summary>The instance's RabbitMQ node (name@localhost).</summary>
    public string RabbitMqNode => _host.RabbitMqNode;

    public string DatabaseConnectionString { get; private set; } = "";
    public string RedisConnectionString { get; private set; } = "";
    public string RabbitMqConnectionString { get; private set; } = "";

    /// <summary>The instance's folder (its servers' data and artifacts).</summary>
    public string Data => _host.Data;

    /// <summary>The test run's Ollama: a stand-in inside the test process, faithful to Ollama's API, scripted by the tests.</summary>
    public OllamaStandIn Ollama { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Ollama = await OllamaStandIn.StartAsync();
        _host = await OwnAppHost.StartAsync<apphost::Projects.TradingBots_AppHost>("integration-tests", "22000-26999", settings: [$"OLLAMA_BASE_URL={Ollama.Url}"], configure: Overrides);
        await _host.WaitUntilReadyAsync(CancellationToken.None);
        DatabaseConnectionString = await ConnectionStringAsync(ResourceNames.Database);
        RedisConnectionString = await ConnectionStringAsync(ResourceNames.Redis);
        RabbitMqConnectionString = await ConnectionStringAsync(ResourceNames.RabbitMq);
        var diary = Path.Combine(_host.Logs, "requests.log");
        Gateway = new HttpClient(new RequestDiary(diary)) { BaseAddress = new Uri(UrlOf(ResourceNames.Gateway)), Timeout = TimeSpan.FromSeconds(30) };
        Sim = new HttpClient(new RequestDiary(diary)) { BaseAddress = new Uri(UrlOf(ResourceNames.ExchangeSim)), Timeout = TimeSpan.FromSeconds(30) };
    }

    private async Task<string> ConnectionStringAsync(string resource) =>
        await App.GetConnectionStringAsync(resource) ?? throw new InvalidOperationException($"{resource} has no connection string");

    /// <summary>Environment for the services under test, on top of the AppHost's.</summary>
    private static void Overrides(IDistributedApplicationTestingBuilder builder)
    {
        void Set(string service, params (string Name, string Value)[] variables)
        {
            var project = builder.CreateResourceBuilder(builder.Resources.OfType<ProjectResource>().Single(r => r.Name == service));
            foreach (var (name, value) in variables) project.WithEnvironment(name, value);
        }
        // The AI service waits 1 s for a list from the tests' Ollama stand-in, 2 s for a decision.
        Set(ResourceNames.Ai, ("Ai__RequestTimeout", "00:00:01"), ("Ai__DecisionTimeout", "00:00:02"));
        // Heartbeats every second, so a test sees them; a client 2,000 events behind is dropped, so a test can be that client.
        Set(ResourceNames.Gateway, ("Sse__Heartbeat", "00:00:01"), ("Sse__ClientBuffer", "2000"));
        // Backtests' heartbeats every second, taken over after 4 s of silence, so a takeover test waits seconds, not half a minute.
        Set(ResourceNames.Worker, ("Backtests__HeartbeatEvery", "00:00:01"), ("Backtests__StaleAfter", "00:00:04"));
        // Short enough for the simulator's timeout fault to be seen quickly, long enough for its latency fault's slow answers
        // (WorkerReliabilityTests); notices throttled over a short window.
        Set(ResourceNames.Market, ("Binance__RequestTimeout", "00:00:02"), ("Market__NoticeInterval", "00:00:03"));
    }

    /// <summary>A service's address, as Aspire resolves its "http" endpoint (its process's own port, the same across its restarts).</summary>
    public string UrlOf(string resource) => App.GetEndpoint(resource, "http").ToString().TrimEnd('/');

    /// <summary>The process id of a service as it runs now (a restart gives it a new one); waits while it is (re)starting.</summary>
    public Task<int> ProcessIdOfAsync(string resource) => _host.ProcessIdOfAsync(resource);

    /// <summary>
    /// One more process of a service, as replicas would run: its built assembly started again with the environment and
    /// working directory of the running one, on a port of its own; healthy when this returns. Not restarted when it exits;
    /// stopped at the end of the run.
    /// </summary>
    public async Task<Replica> StartReplicaAsync(string resource, CancellationToken cancellationToken)
    {
        var original = await ProcessIdOfAsync(resource);
        var url = $"http://127.0.0.1:{FreePort()}";
        var arguments = File.ReadAllText($"/proc/{original}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        var start = new ProcessStartInfo(arguments[0])
        {
            WorkingDirectory = new DirectoryInfo($"/proc/{original}/cwd").ResolveLinkTarget(returnFinalTarget: true)!.FullName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments[1..]) start.ArgumentList.Add(argument);
        start.Environment.Clear();
        foreach (var variable in File.ReadAllText($"/proc/{original}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = variable.IndexOf('=');
            if (equals > 0) start.Environment[variable[..equals]] = variable[(equals + 1)..];
        }
        foreach (var ports in new[] { "HTTP_PORTS", "HTTPS_PORTS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS" }) start.Environment.Remove(ports);
        start.Environment["ASPNETCORE_URLS"] = url;
        var process = Process.Start(start)!;
        // Its console drained (a full pipe would block it); its logs are not the test's.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (_replicas) _replicas.Add(process);
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.UntilAsync(async () =>
        {
            if (process.HasExited) throw new InvalidOperationException($"the {resource} replica exited with code {process.ExitCode} while starting");
            try
            {
                using var health = await http.GetAsync("/health", cancellationToken);
                return health.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, $"the {resource} replica is healthy", CommandTimeout, TimeSpan.FromMilliseconds(200), cancellationToken);
        return new Replica(url, process.Id);
    }

    public sealed record Replica(string Url, int ProcessId);

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// The whole system stopped (every service, gracefully, through its stop command) and started again, as a user who
    /// stops the run command and runs it again: what is in the servers (database, broker) is all that carries over.
    /// </summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        await Task.WhenAll(OwnAppHost.Services.Select(service => StopAsync(service, cancellationToken)));
        // In waves, each healthy before the next: a service's start waits for the services it waits for, but fails at once
        // when one of them is still stopped.
        foreach (var wave in StartWaves) await Task.WhenAll(wave.Select(service => StartAsync(service, cancellationToken)));
    }

    /// <summary>The services in the order the AppHost's waits allow: each wave waits only for the ones before it.</summary>
    private static readonly string[][] StartWaves =
    [
        [ResourceNames.ExchangeSim, ResourceNames.Market, ResourceNames.Ai],
        [ResourceNames.Trading, ResourceNames.Bots],
        [ResourceNames.Worker, ResourceNames.Gateway],
    ];

    /// <summary>Stops a resource through its stop command (SIGTERM; each server shuts down cleanly) and waits until it has.</summary>
    private async Task StopAsync(string resource, CancellationToken cancellationToken = default)
    {
        var result = await App.Services.GetRequiredService<ResourceCommandService>()
            .ExecuteCommandAsync(resource, KnownResourceCommands.StopCommand, cancellationToken);
        if (!result.Success) throw new InvalidOperationException($"stopping {resource}: {result.Message}");
        await App.ResourceNotifications.WaitForResourceAsync(resource,
                e => e.Snapshot.State?.Text is { } state && KnownResourceStates.TerminalStates.Contains(state), cancellationToken)
            .WaitAsync(CommandTimeout, cancellationToken);
    }

    /// <summary>
    /// Starts a resource through its start command and waits until it is healthy: through states that say it is not
    /// running (the stopped process's exit may be reported after the command returned), within <see cref="CommandTimeout"/>.
    /// </summary>
    private async Task StartAsync(string resource, CancellationToken cancellationToken = default)
    {
        var result = await App.Services.GetRequiredService<ResourceCommandService>()
            .ExecuteCommandAsync(resource, KnownResourceCommands.StartCommand, cancellationToken);
        if (!result.Success) throw new InvalidOperationException($"starting {resource}: {result.Message}");
        await App.ResourceNotifications.WaitForResourceHealthyAsync(resource, WaitBehavior.WaitOnResourceUnavailable, cancellationToken)
            .WaitAsync(CommandTimeout, cancellationToken);
    }

    /// <summary>
    /// Clears every simulator fault and waits until the market answers tickers for every symbol again. The market remembers
    /// a failed call for a moment (its cache window, or a rate limit's Retry-After), and a call a fault held (timeout,
    /// latency) can fail after the fault is gone: without this wait, the next test's first requests met that failure (the
    /// Bots service's symbol check answered 502 to BacktestTests and BotsTests right after ExchangeSimTests in some runs).
    /// </summary>
    public async Task ClearFaultsAsync()
    {
        using (var clear = await Sim.PostAsJsonAsync("/sim/faults", new { mode = "none" }))
            clear.EnsureSuccessStatusCode();
        await Eventually.UntilAsync(async () =>
        {
            using var response = await Gateway.GetAsync($"/api/market/tickers?symbols={Uri.EscapeDataString(AllSymbols)}");
            return response.IsSuccessStatusCode;
        }, "the market answers for every symbol after the faults are cleared", TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200));
    }

    /// <summary>Every symbol the simulator lists.</summary>
    private const string AllSymbols = "BTC/USDT,ETH/USDT,BNB/USDT,SOL/USDT,XRP/USDT,ETH/BTC";

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
    public Task StopRedisAsync() => StopAsync(ResourceNames.Redis);

    public Task StartRedisAsync() => StartAsync(ResourceNames.Redis);

    /// <summary>Stops the test run's own PostgreSQL cluster (never the machine's): a fast shutdown, clients cut off.</summary>
    public Task StopPostgresAsync() => StopAsync(ResourceNames.Postgres);

    public Task StartPostgresAsync() => StartAsync(ResourceNames.Postgres);

    /// <summary>Stops the test run's own RabbitMQ node (never the machine's).</summary>
    public Task StopRabbitMqAsync() => StopAsync(ResourceNames.RabbitMq);

    public Task StartRabbitMqAsync() => StartAsync(ResourceNames.RabbitMq);

    public async ValueTask DisposeAsync()
    {
        Gateway?.Dispose();
        Sim?.Dispose();
        lock (_replicas)
            foreach (var replica in _replicas)
            {
                if (!replica.HasExited) replica.Kill();
                replica.Dispose();
            }
        if (_host is not null) await _host.DisposeAsync();
        if (Ollama is not null) await Ollama.DisposeAsync();
    }
}
