using Microsoft.EntityFrameworkCore;
using TradingBots.Data;

// The one owner of the schema: applies the checked-in EF Core migrations and exits 0. The AppHost starts
// the services that use the database only after this has completed.
var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults();
builder.AddTradingDatabase();
using var host = builder.Build();

var logger = host.Services.GetRequiredService<ILogger<Program>>();
using var scope = host.Services.CreateScope();
var db = scope.ServiceProvider.GetRequiredService<TradingDbContext>();

// The database server may still be starting (a fresh container): retry for a while before giving up.
for (var attempt = 1; ; attempt++)
{
    try
    {
        var pending = (await db.Database.GetPendingMigrationsAsync()).ToList();
        await db.Database.MigrateAsync();
        logger.LogInformation("Database is up to date ({Count} migration(s) applied: {Names})",
            pending.Count, string.Join(", ", pending));
        return 0;
    }
    catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException && attempt < 30)
    {
        logger.LogWarning("Database not reachable yet (attempt {Attempt}): {Message}", attempt, ex.Message);
        await Task.Delay(TimeSpan.FromSeconds(1));
    }
}
