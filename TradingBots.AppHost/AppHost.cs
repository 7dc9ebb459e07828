using Microsoft.Extensions.DependencyInjection;
using TradingBots;
using TradingBots.AppHost;

var builder = DistributedApplication.CreateBuilder(args);
try
{
    // PostgreSQL, Redis and RabbitMQ: containers where a container runtime is healthy, else the Debian packages (Servers:Mode).
    var servers = Servers.Add(builder);
    // A service that crashes is started again, with backoff.
    builder.Services.AddSingleton(TimeProvider.System);
    builder.Services.AddHostedService<Restarts>();
    var (db, redis, rabbitmq) = (servers.Database, servers.Redis, servers.RabbitMq);

    // Backtests' artifacts: written by the Worker, served by Bots, checked by the gateway, so on this machine one absolute
    // folder for the three (each project runs in its own directory): Artifacts:Path, default storage/artifacts in the
    // repository. A deployment (the published manifest) keeps each service's own default.
    var artifacts = Path.GetFullPath(builder.Configuration["Artifacts:Path"] ?? Path.Combine(builder.AppHostDirectory, "..", "storage", "artifacts"));
    IResourceBuilder<ProjectResource> WithArtifacts(IResourceBuilder<ProjectResource> service) =>
        builder.ExecutionContext.IsRunMode ? service.WithEnvironment("Artifacts__Path", artifacts) : service;

    // User strategies: C# files the Bots service compiles (and versions in the database, where Workers read them):
    // Strategies:Path, default strategies/ in the repository, beside storage/.
    var strategies = Path.GetFullPath(builder.Configuration["Strategies:Path"] ?? Path.Combine(builder.AppHostDirectory, "..", "strategies"));

    var exchangeSim = AddWebService<Projects.TradingBots_ExchangeSim>(ResourceNames.ExchangeSim, port: 8090).WithSimulatorCommands();

    // Applies the EF Core migrations and exits 0: the one owner of the schema. No endpoint.
    var migrations = builder.AddProject<Projects.TradingBots_MigrationService>(ResourceNames.Migrations, launchProfileName: null).FromBuiltAssembly()
        .WithReference(db)
        .WaitFor(servers.DatabaseServer);

    // Market reads real Binance when it answers, else the simulator (Binance:BaseUrl: sim, real or a URL decides).
    var (binance, marketSource) = MarketSource.Choose(builder);
    Console.WriteLine($"market data: {marketSource}");
    var market = AddWebService<Projects.TradingBots_Market>(ResourceNames.Market)
        .WithReference(redis)
        .WaitFor(redis);
    if (binance is null) market.WithEnvironment("Binance__BaseUrl", exchangeSim.GetEndpoint("http"));
    else market.WithEnvironment("Binance__BaseUrl", binance);
    market.WithReference(exchangeSim);

    // No WaitFor(ollama): the first pull of ollama/ollama is several GB, and waiting for it would hold back the AI
    // service and, through the gateway's WaitFor(ai), the whole API. The AI service starts at once and answers 503
    // until Ollama is reachable; its /health does not check Ollama, so the gateway does not wait for Ollama either.
    var ai = AddWebService<Projects.TradingBots_Ai>(ResourceNames.Ai)
        .WithEnvironment("OLLAMA_BASE_URL", servers.OllamaUrl)
        .WithReference(redis);

    // Everything that reads or writes the schema starts only after the migrations have completed.
    var trading = AddWebService<Projects.TradingBots_Trading>(ResourceNames.Trading)
        .WithReference(db).WithReference(redis).WithReference(market)
        .WaitFor(redis).WaitFor(market)
        .WaitForCompletion(migrations);

    // Bots checks a new bot's symbols against the exchange through the Market service, and an llm bot's model through Ai.
    var bots = WithArtifacts(AddWebService<Projects.TradingBots_Bots>(ResourceNames.Bots)).WithBotCommands()
        .WithReference(db).WithReference(redis).WithReference(rabbitmq).WithReference(market).WithReference(ai)
        .WaitFor(redis).WaitFor(rabbitmq).WaitFor(market)
        .WaitForCompletion(migrations);
    if (builder.ExecutionContext.IsRunMode) bots.WithEnvironment("Strategies__Path", strategies);

    WithArtifacts(AddWebService<Projects.TradingBots_Worker>(ResourceNames.Worker))
        .WithReference(db).WithReference(redis).WithReference(rabbitmq).WithReference(market).WithReference(trading).WithReference(ai)
        .WaitFor(servers.DatabaseServer).WaitFor(redis).WaitFor(rabbitmq).WaitFor(market).WaitFor(trading)
        .WaitForCompletion(migrations);

    // The only endpoint meant to be reached from outside; its address said on the console once it is healthy.
    var gateway = WithArtifacts(AddWebService<Projects.TradingBots_Gateway>(ResourceNames.Gateway, port: 8080))
        .WithExternalHttpEndpoints()
        .WithReference(db).WithReference(redis).WithReference(rabbitmq)
        .WithReference(market).WithReference(trading).WithReference(bots).WithReference(ai)
        .WaitFor(servers.DatabaseServer).WaitFor(redis).WaitFor(rabbitmq)
        .WaitFor(market).WaitFor(trading).WaitFor(bots).WaitFor(ai)
        .WaitForCompletion(migrations);
    gateway.OnResourceReady((resource, _, _) =>
    {
        var url = resource.GetEndpoint("http").Url;
        Console.WriteLine($"gateway: {url} is ready: the web dashboard at {url}/, the API at {url}/api (try {url}/api/health)");
        return Task.CompletedTask;
    });

    builder.Build().Run();
    return 0;
}
catch (CannotStartException refused)
{
    Console.Error.WriteLine($"error: {refused.Message}");
    return 1;
}

// The services have no launchSettings.json. launchProfileName: null says so, so no endpoint is inferred and each
// service gets exactly one: "http", declared here (when publishing, Aspire then sets HTTP_PORTS from it).
// Its /health (the service defaults) gates everything that waits for the service. A fixed port (the gateway's
// 8080) is for runs on this machine only: a published endpoint with a port other than 80 cannot be a container
// app's ingress (azd refuses it), so the manifest declares none.
// Not proxied: each service listens on its endpoint's port itself, kept across its restarts. So a caller reaches the
// process (no extra hop on every request), and while it is down or restarting the connection is refused, which the
// gateway answers with a 503 and Retry-After; a proxy in between would accept the connection and then drop it (a 502),
// and would read on behalf of a client that does not (SSE's slow-client rule would never see it).
IResourceBuilder<ProjectResource> AddWebService<TProject>(string name, int? port = null)
    where TProject : IProjectMetadata, new()
{
    // A fixed port taken (a second run while one runs) is said at once; the tests' randomized ports are Aspire's to pick.
    var fixedPort = builder.ExecutionContext.IsRunMode && builder.Configuration["DcpPublisher:RandomizePorts"] != "true" ? port : null;
    if (fixedPort is { } taken) Ports.EnsureFree(taken, $"the {name}'s port");
    return builder.AddProject<TProject>(name, launchProfileName: null).FromBuiltAssembly()
        .WithHttpEndpoint(port: fixedPort, name: "http", isProxied: !builder.ExecutionContext.IsRunMode)
        .WithHttpHealthCheck("/health", endpointName: "http");
}
