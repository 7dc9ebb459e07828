using TradingBots.Binance;
using TradingBots.Events;

namespace TradingBots.Market;

public static class MarketExtensions
{
    public static WebApplicationBuilder AddMarketServices(this WebApplicationBuilder builder)
    {
        builder.AddRedis();
        builder.AddBinanceClient();
        builder.Services.AddOptions<MarketOptions>().BindConfiguration(MarketOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<TickerCache>();
        builder.Services.AddSingleton<UpstreamNotices>();
        builder.Services.ConfigureHttpJsonOptions(json => WireJson.Configure(json.SerializerOptions));
        return builder;
    }
}
