using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace TradingBots.Binance;

public static class BinanceExtensions
{
    /// <summary>
    /// One <see cref="BinanceClient"/> for the process on one long-lived HttpClient (connections recycled every
    /// few minutes so DNS changes are seen). No retrying resilience handler: retrying against a rate-limited
    /// exchange makes things worse; failures surface as typed errors and the caller decides.
    /// </summary>
    public static IHostApplicationBuilder AddBinanceClient(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<BinanceOptions>().BindConfiguration(BinanceOptions.Section)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => new BinanceClient(
            new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }),
            sp.GetRequiredService<IOptions<BinanceOptions>>(),
            sp.GetRequiredService<TimeProvider>()));
        return builder;
    }
}
