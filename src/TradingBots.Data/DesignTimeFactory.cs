using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace TradingBots.Data;

/// <summary>Lets <c>dotnet ef migrations add</c> build the model without starting a service.</summary>
internal sealed class DesignTimeFactory : IDesignTimeDbContextFactory<TradingDbContext>
{
    public TradingDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<TradingDbContext>();
        TradingDbContext.Configure(options, "Host=127.0.0.1;Username=tradingbots;Password=tradingbots;Database=tradingbots");
        return new TradingDbContext(options.Options);
    }
}
