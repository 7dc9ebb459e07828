using System.Net;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Xunit;

namespace TradingBots.AppHost.Tests;

/// <summary>Starts the whole AppHost once for the tests of this class and stops it afterwards.</summary>
public sealed class TopologyFixture : IAsyncLifetime
{
    // A cold machine pulls four images (postgres, redis, rabbitmq, ollama) and builds eight projects first.
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(10);

    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The AppHost has not been started.");

    public async ValueTask InitializeAsync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var appHost = await DistributedApplicationTestingBuilder.CreateAsync<Projects.TradingBots_AppHost>(cancellationToken);
        _app = await appHost.BuildAsync(cancellationToken);
        await _app.StartAsync(cancellationToken).WaitAsync(StartTimeout, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

public sealed class AppHostTests(TopologyFixture topology) : IClassFixture<TopologyFixture>
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(5);

    // Every resource that keeps running; the migrations resource is expected to finish instead.
    private static readonly string[] LongRunningResources =
    [
        ResourceNames.Postgres, ResourceNames.Database, ResourceNames.Redis, ResourceNames.RabbitMq, ResourceNames.Ollama,
        ResourceNames.ExchangeSim, ResourceNames.Market, ResourceNames.Trading, ResourceNames.Bots,
        ResourceNames.Worker, ResourceNames.Ai, ResourceNames.Gateway,
    ];

    [Fact]
    public async Task Migrations_run_to_completion_and_exit_zero()
    {
        var cancellationToken = TestContext.Current.CancellationToken;

        var finished = await topology.App.ResourceNotifications
            .WaitForResourceAsync(
                ResourceNames.Migrations,
                e => e.Snapshot.State?.Text is { } state && KnownResourceStates.TerminalStates.Contains(state),
                cancellationToken)
            .WaitAsync(ReadyTimeout, cancellationToken);

        Assert.NotEqual(KnownResourceStates.FailedToStart, finished.Snapshot.State?.Text);
        Assert.Equal(0, finished.Snapshot.ExitCode);
    }

    [Fact]
    public async Task Gateway_health_reports_every_dependency_healthy()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        foreach (var name in LongRunningResources)
        {
            await topology.App.ResourceNotifications
                .WaitForResourceHealthyAsync(name, cancellationToken)
                .WaitAsync(ReadyTimeout, cancellationToken);
        }

        using var client = topology.App.CreateHttpClient(ResourceNames.Gateway, "http");
        using var response = await client.GetAsync("/api/health", cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);

        if (response.StatusCode != HttpStatusCode.OK)
        {
            Assert.Fail($"GET /api/health answered {(int)response.StatusCode}: {body}");
        }

        using var json = JsonDocument.Parse(body);
        var checks = json.RootElement.GetProperty("checks");
        foreach (var entry in new[] { "database", "redis", "broker", "artifacts" })
        {
            Assert.True(checks.TryGetProperty(entry, out var check), $"/api/health has no '{entry}' entry: {body}");
            Assert.Equal("Healthy", check.GetProperty("status").GetString());
        }
    }
}
