using TradingBots.ExchangeSim;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddExchangeSimServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapExchangeSimApi();
app.Run();
