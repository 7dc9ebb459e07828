using TradingBots.Data;
using TradingBots.Events;

namespace TradingBots.Trading;

public static class TradingExtensions
{
    public static WebApplicationBuilder AddTradingServices(this WebApplicationBuilder builder)
    {
        builder.AddTradingDatabase();
        builder.AddRedis();
        return builder;
    }

    public static WebApplication MapTradingApi(this WebApplication app)
    {
        return app;
    }
}
