using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Messaging;
using TradingBots.Paper;

namespace TradingBots.Bots;

public static class BotsExtensions
{
    public static WebApplicationBuilder AddBotsServices(this WebApplicationBuilder builder)
    {
        builder.AddTradingDatabase();
        builder.AddRedis();
        builder.AddMessaging();
        builder.AddPriceSource();
        builder.AddPaperOptions();
        builder.AddArtifacts();
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
