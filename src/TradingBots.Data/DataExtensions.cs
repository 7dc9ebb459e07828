using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Npgsql;

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
            settings.ConnectionString = Prepared(settings.ConnectionString);
            settings.DisableTracing = settings.DisableMetrics = !telemetry;
        }, TradingDbContext.Conventions);
        builder.Services.RenameHealthCheck(nameof(TradingDbContext), "database");
        return builder;
    }

    /// <summary>
    /// The connection string every service connects with: Npgsql prepares a statement on a connection the second time
    /// it runs there (up to 256 per connection), so PostgreSQL parses and plans the paper engine's, the tick's and the
    /// outbox's statements once per connection instead of on every run.
    /// </summary>
    public static string? Prepared(string? connectionString) => connectionString is null ? null
        : new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 256, AutoPrepareMinUsages = 2 }.ConnectionString;
}
