using TradingBots.Events;

namespace TradingBots.Market;

public static class MarketExtensions
{
    public static WebApplicationBuilder AddMarketServices(this WebApplicationBuilder builder)
    {
        builder.AddRedis();
        return builder;
    }

    public static WebApplication MapMarketApi(this WebApplication app)
    {
        return app;
    }
}
