using TradingBots.Trading;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddTradingServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapTradingApi();
app.Run();
