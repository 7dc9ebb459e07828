using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Paper;

namespace TradingBots.Trading;

public static class TradingExtensions
{
    public static WebApplicationBuilder AddTradingServices(this WebApplicationBuilder builder)
    {
        builder.AddTradingDatabase();
        builder.AddRedis();
        builder.AddPaperEngine();
        builder.Services.ConfigureHttpJsonOptions(json => WireJson.Configure(json.SerializerOptions));
        // Every service that writes outbox rows can publish them, one at a time (the publisher's lock): events leave while any is up.
        builder.Services.AddHostedService<OutboxPublisher>();
        return builder;
    }
}
