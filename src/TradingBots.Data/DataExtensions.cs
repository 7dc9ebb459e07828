using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace TradingBots.Data;

public static class DataExtensions
{
    /// <summary>
    /// Registers <see cref="TradingDbContext"/> (pooled) on <c>ConnectionStrings:tradingbots</c>, the name the
    /// AppHost gives the database. The schema is owned by the migration service; nothing here creates it.
    /// </summary>
    public static IHostApplicationBuilder AddTradingDatabase(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ResourceNames.Database)
            ?? throw new InvalidOperationException($"ConnectionStrings:{ResourceNames.Database} is not set.");
        builder.Services.AddDbContextPool<TradingDbContext>(options => TradingDbContext.Configure(options, connectionString));
        builder.Services.AddHealthChecks().AddNpgSql(connectionString, name: "database");
        return builder;
    }
}
