using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The Aspire service-defaults contract: OpenTelemetry over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set,
/// service discovery and the standard resilience handler on every HttpClient, /health and /alive.
/// </summary>
public static class ServiceDefaultsExtensions
{
    private const string HealthPath = "/health";
    private const string AlivePath = "/alive";
    private const string LiveTag = "live";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddOpenApi();
        builder.AddProblemResponses();
        return builder;
    }

    private static void ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        // A line per request or per SQL command costs more than the request itself on a small machine; traces carry
        // that detail. Logging:LogLevel settings still override these.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
        builder.Logging.AddFilter("Yarp", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        // The Redis client logs every step of each (re)connection at Information: its warnings and errors are enough.
        builder.Logging.AddFilter("StackExchange.Redis", LogLevel.Warning);
        // Without a collector to send them to, traces and metrics would only cost CPU on every request.
        if (!builder.ExportsTelemetry()) return;

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });
        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation())
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                // Health probes and the AppHost's polling would drown the real traffic.
                .AddAspNetCoreInstrumentation(o => o.Filter = context =>
                    !context.Request.Path.StartsWithSegments(HealthPath) && !context.Request.Path.StartsWithSegments(AlivePath))
                .AddHttpClientInstrumentation()
                // What a request or a message started, whole; not the background loops' own polling (each outbox wake-up,
                // lease renewal and idle mark would be a trace of its own, hundreds a minute, drowning the requests).
                // A caller outside the system that sends a traceparent it did not record (a client with tracing off) still
                // gets its request traced here.
                .SetSampler(new ParentBasedSampler(new StartedByRequestsSampler(), remoteParentSampled: null,
                    remoteParentNotSampled: new StartedByRequestsSampler(), localParentSampled: null, localParentNotSampled: null)))
            .UseOtlpExporter();
    }

    /// <summary>A trace starts at a request or a message received, not at a call made by no one's request.</summary>
    private sealed class StartedByRequestsSampler : Sampler
    {
        public override SamplingResult ShouldSample(in SamplingParameters parameters) =>
            new(parameters.Kind is ActivityKind.Server or ActivityKind.Consumer ? SamplingDecision.RecordAndSample : SamplingDecision.Drop);
    }

    /// <summary>
    /// Whether traces and metrics go anywhere (OTEL_EXPORTER_OTLP_ENDPOINT, set by the AppHost for its dashboard). The
    /// client integrations (PostgreSQL, Redis) add their own traces and metrics only then.
    /// </summary>
    public static bool ExportsTelemetry(this IHostApplicationBuilder builder) =>
        !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    /// <summary>
    /// Gives a health check registered by a client integration the name our /health answers carry (database, redis),
    /// so the answer's shape does not depend on which library checks, and optionally a time limit.
    /// </summary>
    public static IServiceCollection RenameHealthCheck(this IServiceCollection services, string registered, string name, TimeSpan? timeout = null) =>
        services.Configure<HealthCheckServiceOptions>(options =>
        {
            foreach (var registration in options.Registrations.Where(r => r.Name == registered))
            {
                registration.Name = name;
                if (timeout is { } limit) registration.Timeout = limit;
            }
        });

    /// <summary>Readiness: every dependency check must pass; the answer names each check.</summary>
    public static HealthCheckOptions Readiness { get; } = new()
    {
        Predicate = check => !check.Tags.Contains(LiveTag),
        ResponseWriter = WriteHealthJson,
    };

    /// <summary>
    /// Errors as ProblemDetails (<see cref="ProblemResponses"/>), /health (readiness), /alive (liveness: the process
    /// answers) and the OpenAPI document at /openapi/v1.json.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.UseProblemResponses();
        app.MapOpenApi();
        app.MapHealthChecks(HealthPath, Readiness);
        app.MapHealthChecks(AlivePath, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(LiveTag),
            ResponseWriter = WriteHealthJson,
        });
        return app;
    }

    /// <summary>
    /// Writes <c>{"status": "Healthy|Degraded|Unhealthy", "checks": {"name": {"status", "duration_ms"}}}</c>, so a 503
    /// names the failing check and says nothing more to whoever asks (no exception message, host or path: the health
    /// check service logs those).
    /// </summary>
    private static Task WriteHealthJson(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new
                {
                    status = entry.Value.Status.ToString(),
                    duration_ms = Math.Round(entry.Value.Duration.TotalMilliseconds, 1),
                }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}
