using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Messaging;
using TradingBots.Paper;
using TradingBots.Strategies.Users;

namespace TradingBots.Worker;

public static class WorkerExtensions
{
    public static readonly TimeSpan MarketTimeout = TimeSpan.FromSeconds(3);

    public static WebApplicationBuilder AddWorkerServices(this WebApplicationBuilder builder)
    {
        builder.AddTradingDatabase();
        builder.AddRedis();
        builder.AddPaperEngine();
        builder.AddStrategyCatalog();
        // It writes outbox rows, so it can publish them too, one publisher at a time (the lock): events leave while any is up.
        builder.Services.AddHostedService<OutboxPublisher>();
        // A tick waits at most this long for the market (the services' 15 s would hold every bot of the batch).
        builder.Services.AddHttpClient(PriceSource.MarketClient, http => http.Timeout = MarketTimeout);
        // The llm strategy's decisions: no retries (a retry doubles a slow model's wait); the Advisor times each call.
        builder.Services.AddHttpClient(Advisor.AiClient, http =>
            {
                http.BaseAddress = new Uri($"http://{ResourceNames.Ai}");
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .RemoveAllResilienceHandlers();
        builder.Services.AddSingleton<Advisor>();
        builder.Services.AddSingleton<AdviceBook>();
        builder.AddMessaging(bus =>
        {
            bus.AddConsumer<RunBotConsumer>();
            bus.AddConsumer<RunBacktestConsumer>();
            // Every Worker hears of a search's chunks: an endpoint per process, removed when it stops.
            bus.AddConsumer<TrialsQueuedConsumer>().Endpoint(endpoint =>
            {
                endpoint.InstanceId = $"{Environment.ProcessId}-{Guid.NewGuid():N}";
                endpoint.Temporary = true;
            });
        });
        builder.Services.AddSingleton<WorkerIdentity>();
        builder.Services.AddScoped<BotRuns>();
        builder.Services.AddScoped<BotTicker>();
        builder.Services.AddScoped<TickWrites>();
        builder.Services.AddHostedService<BotScheduler>();
        builder.Services.AddOptions<MarksOptions>().BindConfiguration(MarksOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddScoped<IdleMarks>();
        builder.Services.AddHostedService<IdleMarker>();
        builder.AddArtifacts();
        builder.Services.AddSingleton<CandleDownload>();
        builder.Services.AddScoped<BacktestJobs>();
        builder.Services.AddScoped<BacktestRunner>();
        builder.Services.AddScoped<BacktestInputs>();
        builder.Services.AddScoped<SearchChunks>();
        builder.Services.AddSingleton<SearchTrials>();
        builder.Services.AddOptions<Backtests.BacktestsOptions>().BindConfiguration(Backtests.BacktestsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<BacktestScheduler>();
        builder.Services.AddHostedService(services => services.GetRequiredService<BacktestScheduler>());
        return builder;
    }

    public static WebApplication MapWorkerApi(this WebApplication app)
    {
        return app;
    }
}
