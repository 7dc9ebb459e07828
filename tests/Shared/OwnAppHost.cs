using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TradingBots.Tests;

/// <summary>
/// The AppHost started through Aspire.Hosting.Testing, in local mode (the Debian packages' PostgreSQL, Redis and RabbitMQ
/// as executable resources), as an instance of the test run's own: its servers' data and the backtests' artifacts in a
/// folder of its own under storage/, every port chosen by Aspire (the servers' from a range of their own), its own
/// RabbitMQ node, market data from ExchangeSim. So it runs beside a system the user started and changes nothing of it.
/// Disposing stops it and removes its folder.
/// </summary>
public sealed class OwnAppHost : IAsyncDisposable
{
    // A first run on a fresh machine installs the packages and builds every project first.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(10);

    private OwnAppHost(string data, string node, DistributedApplication app) => (Data, RabbitMqNode, App) = (data, node, app);

    private readonly CancellationTokenSource _stopLogs = new();
    private Task _logs = Task.CompletedTask;

    /// <summary>Where this instance's services' console logs are kept after it is gone (storage/&lt;purpose&gt;/logs/&lt;id&gt;/).</summary>
    public string Logs { get; private set; } = "";

    /// <summary>Runs whose logs are kept per purpose: the newest ones (a crash seen in a run can be read afterwards).</summary>
    private const int LogsKept = 3;

    public DistributedApplication App { get; }

    /// <summary>This instance's folder: its servers' data (postgres/, rabbitmq/) and its artifacts (artifacts/).</summary>
    public string Data { get; }

    public string Artifacts => Path.Combine(Data, "artifacts");

    /// <summary>This instance's RabbitMQ node (name@localhost).</summary>
    public string RabbitMqNode { get; }

    /// <typeparam name="TAppHost">The AppHost's generated <c>Projects.TradingBots_AppHost</c>.</typeparam>
    /// <param name="purpose">Names the instance's folder and node (storage/&lt;purpose&gt;/&lt;id&gt;).</param>
    /// <param name="serverPorts">Where Aspire picks the servers' and services' ports ("first-last"): each test project its own
    /// range, below the kernel's ephemeral ports (32768–60999 here): a port picked there could be taken, before its service
    /// binds it, as the local port of some process's outgoing connection (a run's Bots service met "address already in use"
    /// on 39846 and never started). A RabbitMQ node's distribution port is its AMQP port + 20000.</param>
    /// <param name="configure">Changes to the model before it is built (a service's environment, say).</param>
    public static async Task<OwnAppHost> StartAsync<TAppHost>(string purpose, string serverPorts, bool dashboard = false, IEnumerable<string>? settings = null,
        Action<IDistributedApplicationTestingBuilder>? configure = null, CancellationToken cancellationToken = default)
        where TAppHost : class
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        var data = RepoRoot.File("storage", purpose, id);
        var node = $"tradingbots-{purpose}-{id}";
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<TAppHost>(
            new DistributedApplicationTestingBuilderOptions { EnableDashboard = dashboard },
            ["Servers:Mode=local", "Servers:Ports=dynamic", "Binance:BaseUrl=sim", $"Servers:DataPath={data}", $"Servers:RabbitMqNode={node}",
             $"Artifacts:Path={Path.Combine(data, "artifacts")}", $"Strategies:Path={Path.Combine(data, "strategies")}", $"ASPIRE_PROXYLESS_ENDPOINT_PORT_RANGE={serverPorts}", .. settings ?? []],
            cancellationToken);
        // The resources' own logs stay in the dashboard's place; here only what goes wrong (not each health probe of a start).
        builder.Services.AddLogging(logging => logging
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None)
            .AddFilter("System.Net.Http", LogLevel.Warning)
            .AddFilter("Aspire", LogLevel.Warning)
            .AddFilter("TradingBots.AppHost.Resources", LogLevel.Warning));
        if (!dashboard)
        {
            // No dashboard, no OTLP receiver: Aspire would still point every service at localhost:4317, where nothing of
            // this instance listens (and a collector of the machine's own might): the services then export nothing.
            foreach (var project in builder.Resources.OfType<ProjectResource>())
                builder.CreateResourceBuilder(project).WithEnvironment(context =>
                {
                    foreach (var name in context.EnvironmentVariables.Keys.Where(k => k.StartsWith("OTEL_EXPORTER_OTLP_", StringComparison.Ordinal)).ToList())
                        context.EnvironmentVariables.Remove(name);
                });
        }
        configure?.Invoke(builder);
        var app = await builder.BuildAsync(cancellationToken);
        var instance = new OwnAppHost(data, node, app);
        try
        {
            await app.StartAsync(cancellationToken).WaitAsync(StartTimeout, cancellationToken);
            instance.KeepLogs(RepoRoot.File("storage", purpose, "logs"), id);
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until the migrations finished (exit code 0) and every long-running resource is healthy.</summary>
    public async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var finished = await App.ResourceNotifications.WaitForResourceAsync(ResourceNames.Migrations,
                e => e.Snapshot.State?.Text is { } state && KnownResourceStates.TerminalStates.Contains(state), cancellationToken)
            .WaitAsync(StartTimeout, cancellationToken);
        if (finished.Snapshot.ExitCode != 0)
            throw new InvalidOperationException($"the migrations ended {finished.Snapshot.State?.Text} with exit code {finished.Snapshot.ExitCode}");
        await Task.WhenAll(LongRunning.Select(name => App.ResourceNotifications.WaitForResourceHealthyAsync(name, cancellationToken)))
            .WaitAsync(StartTimeout, cancellationToken);
    }

    /// <summary>Every resource that keeps running (the migrations finish instead; Ollama is outside the AppHost in local mode).</summary>
    public static readonly string[] LongRunning =
    [
        ResourceNames.Postgres, ResourceNames.Redis, ResourceNames.RabbitMq, ResourceNames.ExchangeSim, ResourceNames.Market,
        ResourceNames.Trading, ResourceNames.Bots, ResourceNames.Worker, ResourceNames.Ai, ResourceNames.Gateway,
    ];

    /// <summary>The services with an HTTP endpoint (every project resource but the migrations).</summary>
    public static readonly string[] Services =
    [
        ResourceNames.ExchangeSim, ResourceNames.Market, ResourceNames.Trading, ResourceNames.Bots, ResourceNames.Worker, ResourceNames.Ai, ResourceNames.Gateway,
    ];

    /// <summary>The process id of a resource from a snapshot, while it runs; null while it has none (starting, exited).</summary>
    public static int? Pid(ResourceEvent e) =>
        e.Snapshot.State?.Text == KnownResourceStates.Running
        && e.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value is { } value
        && int.TryParse(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture), out var pid) ? pid : null;

    /// <summary>The process id of a resource as it runs now (a restart gives it a new one); waits while it is (re)starting.</summary>
    public async Task<int> ProcessIdOfAsync(string resource)
    {
        var running = await App.ResourceNotifications.WaitForResourceAsync(resource, e => Pid(e) is not null).WaitAsync(TimeSpan.FromMinutes(1));
        return Pid(running)!.Value;
    }

    /// <summary>
    /// Every service's console output, appended to a file of its own for as long as the instance runs (restarts included:
    /// a service that dies says why there), under <paramref name="root"/>; older runs' folders beyond <see cref="LogsKept"/> go.
    /// </summary>
    private void KeepLogs(string root, string id)
    {
        Logs = Path.Combine(root, id);
        Directory.CreateDirectory(Logs);
        foreach (var old in new DirectoryInfo(root).GetDirectories().OrderByDescending(d => d.CreationTimeUtc).Skip(LogsKept))
        {
            try { old.Delete(recursive: true); }
            catch (IOException) { }
        }
        var loggers = App.Services.GetRequiredService<ResourceLoggerService>();
        var model = App.Services.GetRequiredService<DistributedApplicationModel>();
        _logs = Task.WhenAll(Services.Select(async name =>
        {
            await using var file = new StreamWriter(Path.Combine(Logs, $"{name}.log"), append: true) { AutoFlush = true };
            try
            {
                // By the resource (its process's own log name: a project's instance is named apart from the resource).
                await foreach (var batch in loggers.WatchAsync(model.Resources.Single(r => r.Name == name)).WithCancellation(_stopLogs.Token))
                    foreach (var line in batch) await file.WriteLineAsync(line.Content);
            }
            catch (OperationCanceledException) { }
        }));
    }

    public async ValueTask DisposeAsync()
    {
        await _stopLogs.CancelAsync();
        await _logs;
        await App.DisposeAsync();
        // Whatever of this instance's own servers outlived the AppHost (a server's children a signal did not reach).
        Run("rabbitmqctl", "-q", "-n", $"{RabbitMqNode}@localhost", "stop");
        if (File.Exists(Path.Combine(Data, "postgres", "postmaster.pid")))
            Run("runuser", "-u", "postgres", "--", "bash", "-c", $"/usr/lib/postgresql/*/bin/pg_ctl -D '{Path.Combine(Data, "postgres")}' -m immediate stop");
        if (Directory.Exists(Data)) Directory.Delete(Data, recursive: true);
    }

    private static void Run(string command, params string[] args)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(command, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            process.WaitForExit(30_000);
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
    }
}
