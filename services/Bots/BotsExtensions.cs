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
        builder.Services.AddScoped<BotLifecycle>();
        builder.Services.AddHttpClient(ModelCheck.AiClient, http => http.BaseAddress = new Uri($"http://{ResourceNames.Ai}"));
        builder.Services.AddSingleton<ModelCheck>();
        builder.Services.ConfigureHttpJsonOptions(json => WireJson.Configure(json.SerializerOptions));
        return builder;
    }
}
