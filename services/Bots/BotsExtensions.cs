using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Messaging;
using TradingBots.Paper;
using TradingBots.Strategies.Users;

namespace TradingBots.Bots;

public static class BotsExtensions
{
    public static WebApplicationBuilder AddBotsServices(this WebApplicationBuilder builder)
    {
        builder.AddTradingDatabase();
        builder.AddRedis();
        // It writes outbox rows, so it can publish them too, one publisher at a time (the lock): events leave while any is up.
        builder.Services.AddHostedService<OutboxPublisher>();
        builder.AddMessaging();
        builder.AddPriceSource();
        builder.AddStrategyCatalog();
        builder.AddPaperOptions();
        builder.AddArtifacts();
        builder.Services.AddOptions<Backtests.BacktestsOptions>().BindConfiguration(Backtests.BacktestsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddScoped<BotLifecycle>();
        builder.Services.AddScoped<BacktestLifecycle>();
        // No retries: a start waits at most ModelCheck.Timeout for the list, then says why.
        builder.Services.AddHttpClient(ModelCheck.AiClient, http =>
            {
                http.BaseAddress = new Uri($"http://{ResourceNames.Ai}");
                http.Timeout = ModelCheck.Timeout;
            })
            .RemoveAllResilienceHandlers();
        builder.Services.AddSingleton<ModelCheck>();
        builder.Services.ConfigureHttpJsonOptions(json => WireJson.Configure(json.SerializerOptions));
        return builder;
    }
}
