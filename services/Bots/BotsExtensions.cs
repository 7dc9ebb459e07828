using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Messaging;

namespace TradingBots.Bots;

public static class BotsExtensions
{
    public static WebApplicationBuilder AddBotsServices(this WebApplicationBuilder builder)
    {
        builder.AddTradingDatabase();
        builder.AddRedis();
        builder.AddMessaging();
        return builder;
    }

    public static WebApplication MapBotsApi(this WebApplication app)
    {
        return app;
    }
}
