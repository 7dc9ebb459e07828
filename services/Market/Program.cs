using TradingBots.Market;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddMarketServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapMarketApi();
app.Run();
