using TradingBots.Bots;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddBotsServices();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapBotsApi();
app.MapBacktestsApi();
app.MapOptimizationsApi();
app.Run();
