using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Every error a service answers is an RFC 7807 ProblemDetails: refusals its handlers write themselves, and here the rest:
/// an unhandled exception (a database that is down is a 503 with Retry-After, never a bare 500), a bare status
/// (404 of an unknown path, 405, 413 of a body over the cap). Request bodies are capped at <see cref="MaxBodyBytes"/>;
/// an endpoint may cap its own lower with <see cref="WithBodyLimit{TBuilder}"/>.
/// </summary>
public static class ProblemResponses
{
    /// <summary>No request of this API needs more (Kestrel's default is 30 MB).</summary>
    public const long MaxBodyBytes = 1024 * 1024;

    /// <summary>Seconds a client is asked to wait before retrying while a dependency is down.</summary>
    public const int RetryAfterSeconds = 2;

    public static IHostApplicationBuilder AddProblemResponses(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<UnhandledExceptionHandler>();
        builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.Limits.MaxRequestBodySize = MaxBodyBytes);
        return builder;
    }

    public static WebApplication UseProblemResponses(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use(RetryReadOnceAsync);
        return app;
    }

    /// <summary>
    /// A read (GET, HEAD) that met a database connection the server dropped is run once more, on a fresh connection: after
    /// a PostgreSQL restart every pooled connection is dead, and the first use of each would otherwise cost a user a 503.
    /// Writes are not repeated here (their clients retry with an Idempotency-Key); a database that stays down is still a 503.
    /// </summary>
    private static async Task RetryReadOnceAsync(HttpContext context, RequestDelegate next)
    {
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            await next(context);
            return;
        }
        try
        {
            await next(context);
        }
        catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested && Classify(ex).Dependency == "database")
        {
            NpgsqlConnection.ClearAllPools();
            await next(context);
        }
    }

    /// <summary>Caps this endpoint's request body (over it: 413 ProblemDetails, nothing read further).</summary>
    public static TBuilder WithBodyLimit<TBuilder>(this TBuilder endpoint, long bytes) where TBuilder : IEndpointConventionBuilder =>
        endpoint.WithMetadata(new BodyLimit(bytes));

    /// <summary>The answer to an exception no handler turned into a response: status, title and the dependency at fault.</summary>
    public static (int Status, string Title, string? Dependency) Classify(Exception exception)
    {
        if (exception is Microsoft.AspNetCore.Http.BadHttpRequestException bad)
        {
            return (bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request body too large" : "Bad request", null);
        }
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is NpgsqlException npgsql && IsUnavailable(npgsql)) return (StatusCodes.Status503ServiceUnavailable, "Database unavailable", "database");
        }
        return (StatusCodes.Status500InternalServerError, "Unexpected error", null);
    }

    /// <summary>The server cannot be reached or is shutting down or full; not an error of the statement itself.</summary>
    private static bool IsUnavailable(NpgsqlException exception) => exception is not PostgresException postgres
        || postgres.SqlState.StartsWith("08", StringComparison.Ordinal)     // connection exceptions
        || postgres.SqlState.StartsWith("57P", StringComparison.Ordinal)    // admin/crash shutdown, cannot connect now
        || postgres.SqlState == "53300";                                    // too many connections

    private sealed record BodyLimit(long? MaxRequestBodySize) : IRequestSizeLimitMetadata;

    private sealed class UnhandledExceptionHandler(IProblemDetailsService problems, ILogger<UnhandledExceptionHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
        {
            var (status, title, dependency) = Classify(exception);
            if (status >= 500) logger.LogError(exception, "{Method} {Path}: {Title}", context.Request.Method, context.Request.Path, title);
            context.Response.StatusCode = status;
            if (status == StatusCodes.Status503ServiceUnavailable) context.Response.Headers.RetryAfter = $"{RetryAfterSeconds}";
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                Exception = exception,
                ProblemDetails =
                {
                    Status = status,
                    Title = title,
                    Detail = dependency is null ? (status >= 500 ? "The service failed to answer; see its log." : exception.Message)
                        : $"The {dependency} is not reachable: {exception.Message}",
                    Extensions = { ["dependency"] = dependency },
                },
            });
        }
    }
}
