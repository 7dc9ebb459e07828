namespace TradingBots.ExchangeSim;

public static class ExchangeSimExtensions
{
    public static WebApplicationBuilder AddExchangeSimServices(this WebApplicationBuilder builder)
    {
        return builder;
    }

    public static WebApplication MapExchangeSimApi(this WebApplication app)
    {
        return app;
    }
}
