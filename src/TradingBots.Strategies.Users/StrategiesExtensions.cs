using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace TradingBots.Strategies.Users;

public static class StrategiesExtensions
{
    /// <summary>The strategy catalog (built-ins and user strategies), its options validated on start.</summary>
    public static IHostApplicationBuilder AddStrategyCatalog(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StrategiesOptions>().BindConfiguration(StrategiesOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<StrategyCatalog>();
        return builder;
    }
}
