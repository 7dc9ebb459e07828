using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace TradingBots.Events;

public static class RedisExtensions
{
    /// <summary>
    /// One shared <see cref="IConnectionMultiplexer"/> on <c>ConnectionStrings:redis</c>, and the "redis" health check.
    /// The service starts and stays up while Redis is down (abortConnect=false): the multiplexer reconnects by
    /// itself and /health reports redis until it is back.
    /// </summary>
    public static IHostApplicationBuilder AddRedis(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ResourceNames.Redis)
            ?? throw new InvalidOperationException($"ConnectionStrings:{ResourceNames.Redis} is not set.");
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 2000;
        // Fail at once while disconnected instead of queueing: callers (the outbox) decide when to retry.
        options.BacklogPolicy = BacklogPolicy.FailFast;
        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(options));
        builder.Services.AddSingleton<EventPublisher>();
        builder.Services.AddHealthChecks().AddRedis(sp => sp.GetRequiredService<IConnectionMultiplexer>(), name: "redis",
            timeout: TimeSpan.FromSeconds(2));
        return builder;
    }
}
