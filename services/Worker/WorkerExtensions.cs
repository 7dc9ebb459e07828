using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Messaging;

namespace TradingBots.Worker;

public static class WorkerExtensions
{
    public static WebApplicationBuilder AddWorkerServices(this WebApplicationBuilder builder)
    {
        builder.AddTradingDatabase();
        builder.AddRedis();
        builder.AddMessaging();
        return builder;
    }

    public static WebApplication MapWorkerApi(this WebApplication app)
    {
        return app;
    }
}
