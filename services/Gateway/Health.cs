using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;

namespace TradingBots.Gateway;

/// <summary>Creates the artifacts directory when the gateway starts (the spec: auto-created on start-up).</summary>
public sealed class ArtifactsDirectory(IOptions<ArtifactsOptions> options, ILogger<ArtifactsDirectory> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.Value.FullPath);
        logger.LogInformation("Artifacts directory: {Path}", options.Value.FullPath);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Healthy when the artifacts directory exists and a file can be written in it.</summary>
public sealed class ArtifactsHealthCheck(IOptions<ArtifactsOptions> options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        var path = options.Value.FullPath;
        if (!Directory.Exists(path)) return HealthCheckResult.Unhealthy($"{path} does not exist");
        var probe = System.IO.Path.Combine(path, $".health-{Guid.NewGuid():N}");
        try
        {
            await File.WriteAllTextAsync(probe, "ok", cancellationToken);
            return HealthCheckResult.Healthy(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return HealthCheckResult.Unhealthy($"{path} is not writable: {ex.Message}");
        }
        finally
        {
            File.Delete(probe);
        }
    }
}

/// <summary>
/// Healthy when RabbitMQ accepts an AMQP connection. The connection is kept and reused while it stays open,
/// so a probe costs nothing once connected.
/// </summary>
public sealed class BrokerHealthCheck(IConfiguration configuration) : IHealthCheck, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_connection is not { IsOpen: true })
            {
                if (_connection is not null) await _connection.DisposeAsync();
                _connection = null;
                var factory = new ConnectionFactory
                {
                    Uri = new Uri(configuration.GetConnectionString(ResourceNames.RabbitMq)
                        ?? throw new InvalidOperationException($"ConnectionStrings:{ResourceNames.RabbitMq} is not set.")),
                    RequestedConnectionTimeout = TimeSpan.FromSeconds(2),
                    AutomaticRecoveryEnabled = false,
                };
                _connection = await factory.CreateConnectionAsync("gateway-health", cancellationToken);
            }
            return HealthCheckResult.Healthy($"{_connection.Endpoint.HostName}:{_connection.Endpoint.Port}");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"RabbitMQ unreachable: {ex.Message}");
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null) await _connection.DisposeAsync();
    }
}
