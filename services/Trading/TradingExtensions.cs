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
        // Trading owns the outbox: the events that the engine (here and in the Worker) commits leave from here.
        builder.Services.AddHostedService<OutboxPublisher>();
        return builder;
    }
}
