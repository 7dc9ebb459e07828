using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace TradingBots.Data;

public static class DataExtensions
{
    /// <summary>
    /// Registers <see cref="TradingDbContext"/> (pooled) on <c>ConnectionStrings:tradingbots</c>, the name the AppHost
    /// gives the database, through Aspire's client integration: its health check (reported as "database"), logging and,
    /// where telemetry is exported, its traces and metrics. EF's retrying execution strategy stays off: the paper engine
    /// runs its own transactions under the account's lock, which a retrying strategy refuses, and decides itself what a
    /// failed write means (a ProblemDetails 503; a GET is read again once). The schema is owned by the migration service.
    /// </summary>
    public static IHostApplicationBuilder AddTradingDatabase(this IHostApplicationBuilder builder)
    {
        var telemetry = builder.ExportsTelemetry();
        builder.AddNpgsqlDbContext<TradingDbContext>(ResourceNames.Database, settings =>
        {
            settings.DisableRetry = true;
            settings.DisableTracing = settings.DisableMetrics = !telemetry;
        }, TradingDbContext.Conventions);
        builder.Services.RenameHealthCheck(nameof(TradingDbContext), "database");
        return builder;
    }
}
