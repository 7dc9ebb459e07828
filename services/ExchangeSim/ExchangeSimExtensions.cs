namespace TradingBots.ExchangeSim;

public static class ExchangeSimExtensions
{
    public static WebApplicationBuilder AddExchangeSimServices(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ExchangeSimOptions>().BindConfiguration(ExchangeSimOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<MarketSimulator>();
        builder.Services.AddSingleton<FaultBoard>();
        builder.Services.AddSingleton<UsageMeter>();
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.Converters.Add(new CandleJsonConverter()));
        return builder;
    }

    public static WebApplication MapExchangeSimApi(this WebApplication app)
    {
        app.MapBinanceApi();
        app.MapSimControlApi();
        return app;
    }
}
