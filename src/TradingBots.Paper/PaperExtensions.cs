using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TradingBots.Events;
using Microsoft.Extensions.Hosting;

namespace TradingBots.Paper;

public static class PaperExtensions
{
    /// <summary>
    /// The paper engine and portfolio (need the database registered) and the live price source: the Market service
    /// by service discovery (<c>services:market:http:0</c>). No retrying handler: the Market service already
    /// shields the exchange, and an order must not wait through retries for a price.
    /// </summary>
    public static IHostApplicationBuilder AddPaperEngine(this IHostApplicationBuilder builder)
    {
        builder.AddPaperOptions();
        builder.AddPriceSource();
        builder.Services.AddScoped<PaperEngine>();
        builder.Services.TryAddSingleton(services => new OutboxWaker(services.GetRequiredService<IConfiguration>()));
        builder.Services.AddScoped<Portfolio>();
        builder.Services.AddScoped<MarkPrices>();
        return builder;
    }

    /// <summary>The paper rules' defaults (PAPER_FEE_RATE, PAPER_STARTING_CASH, …), validated on start.</summary>
    public static IHostApplicationBuilder AddPaperOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<PaperOptions>().Bind(builder.Configuration).ValidateDataAnnotations().ValidateOnStart();
        return builder;
    }

    /// <summary>Live prices from the Market service only (what the Bots service needs to check symbols).</summary>
    public static IHostApplicationBuilder AddPriceSource(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PriceSource>();
        builder.Services.AddHttpClient(PriceSource.MarketClient, http =>
            {
                http.BaseAddress = new Uri($"http://{ResourceNames.Market}");
                http.Timeout = TimeSpan.FromSeconds(15);
            })
            .RemoveAllResilienceHandlers();
        return builder;
    }
}
