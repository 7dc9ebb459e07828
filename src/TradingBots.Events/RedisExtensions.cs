using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace TradingBots.Events;

public static class RedisExtensions
{
    /// <summary>
    /// One shared <see cref="IConnectionMultiplexer"/> on <c>ConnectionStrings:redis</c> through Aspire's client
    /// integration (its health check, reported as "redis", logging and, where telemetry is exported, traces). The service
    /// starts and stays up while Redis is down (abortConnect=false): the multiplexer reconnects by itself and /health
    /// reports redis until it is back.
    /// </summary>
    public static IHostApplicationBuilder AddRedis(this IHostApplicationBuilder builder)
    {
        var telemetry = builder.ExportsTelemetry();
        builder.AddRedisClient(ResourceNames.Redis, settings => settings.DisableTracing = !telemetry, options =>
        {
            options.AbortOnConnectFail = false;
            options.ConnectTimeout = 2000;
            // Fail at once while disconnected instead of queueing: callers (the outbox) decide when to retry.
            options.BacklogPolicy = BacklogPolicy.FailFast;
        });
        builder.Services.RenameHealthCheck("StackExchange.Redis", "redis", timeout: TimeSpan.FromSeconds(2));
        builder.Services.AddSingleton<EventPublisher>();
        return builder;
    }
}
