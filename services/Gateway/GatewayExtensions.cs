using Scalar.AspNetCore;
using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Gateway.Sse;

namespace TradingBots.Gateway;

public static class GatewayExtensions
{
    public static WebApplicationBuilder AddGatewayServices(this WebApplicationBuilder builder)
    {
        builder.AddRedis();
        // Its own ProblemDetails (unknown paths, a service that is down) in the one wire format of the services' ones.
        builder.Services.ConfigureHttpJsonOptions(json => WireJson.Configure(json.SerializerOptions));
        builder.AddArtifacts();
        // The database (/sse's resume reads it) through Aspire's client integration: the data source, its health check
        // (reported as "database", 2 s at most) and, where telemetry is exported, its traces and metrics.
        var telemetry = builder.ExportsTelemetry();
        builder.AddNpgsqlDataSource(ResourceNames.Database, settings =>
        {
            settings.DisableTracing = settings.DisableMetrics = !telemetry;
            settings.ConnectionString = DataExtensions.Prepared(settings.ConnectionString);
        });
        builder.Services.RenameHealthCheck("PostgreSql", "database", timeout: TimeSpan.FromSeconds(2));
        builder.Services.AddHealthChecks()
            .AddCheck<BrokerHealthCheck>("broker", timeout: TimeSpan.FromSeconds(3))
            .AddCheck<ArtifactsHealthCheck>("artifacts");
        builder.Services.AddSingleton<BrokerHealthCheck>();
        builder.Services.AddHostedService<ArtifactsDirectory>();
        builder.Services.AddOptions<SseOptions>().BindConfiguration(SseOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<SseHub>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SseHub>());
        builder.Services.AddReverseProxy().LoadFromMemory(ApiRoutes.Routes, ApiRoutes.Clusters(builder.Configuration));
        return builder;
    }

    public static WebApplication MapGatewayEndpoints(this WebApplication app)
    {
        // The gateway's own /health (from the service defaults) checks every shared dependency; /api/health is the same.
        app.MapHealthChecks("/api/health", ServiceDefaultsExtensions.Readiness);
        app.MapSseApi();
        app.MapUi();
        app.MapReverseProxy(proxy => proxy.Use(ServiceErrors.WriteAsync));
        // One API reference over every service's OpenAPI document (/openapi/<service>.json, forwarded above): /scalar/.
        app.MapScalarApiReference(scalar =>
        {
            scalar.Title = "TradingBots API";
            scalar.DefaultFonts = false; // the fonts would come from the internet; the UI itself is served from here
            scalar.AddDocument("v1", "gateway (/sse, /health)", "/openapi/v1.json");
            foreach (var service in ApiRoutes.Services) scalar.AddDocument(service, service);
        });
        return app;
    }
}
