using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TradingBots.Backtests;
using TradingBots.Data;
using TradingBots.Paper;
using TradingBots.Strategies.Users;

namespace TradingBots.Bots;

/// <summary>POST /optimizations, GET /optimizations, GET /optimizations/{id}, GET /optimizations/{id}/artifacts/{name}; cancelled by POST /jobs/{id}/cancel.</summary>
public static class OptimizationsApi
{
    public static WebApplication MapOptimizationsApi(this WebApplication app)
    {
        var api = app.MapGroup("/optimizations").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("", CreateAsync).WithBodyLimit(BotsApi.MaxBodyBytes).Accepts<OptimizationBody>("application/json")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status502BadGateway)
            .WithSummary("Search a strategy's knobs: every trial a backtest over the same candles, ranked by a metric, optionally walked forward; a job (task optimization)");
        api.MapGet("", ListAsync).WithSummary("Parameter searches, newest first (at most 100)");
        api.MapGet("/{id:long}", GetAsync).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("A search with its job and, once completed, its best trials, folds and artifacts");
        api.MapGet("/{id:long}/artifacts/{name}", GetArtifact).ProducesProblem(StatusCodes.Status404NotFound)
            .Produces(StatusCodes.Status200OK, contentType: "text/csv").Produces(StatusCodes.Status200OK, contentType: "image/png")
            .WithSummary("One artifact of a completed search: trials.csv, summary.json, heatmap.png (two knobs)");
        return app;
    }

    private static async Task<Results<Accepted<OptimizationView>, ValidationProblem, ProblemHttpResult>> CreateAsync(HttpRequest request,
        BacktestLifecycle backtests, PriceSource prices, StrategyCatalog catalog, IOptions<PaperOptions> paper, IOptions<BacktestsOptions> bounds,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var strategies = await catalog.CurrentAsync(cancellationToken);
        return await BacktestsApi.CreateJobAsync(request, body =>
        {
            var (backtest, search, errors) = OptimizationRequests.Parse(body, strategies, time.GetUtcNow(), bounds.Value.MaxCandles);
            return (search is null ? null : backtest, search?.ToJson(), errors);
        }, OptimizationView.Of, "optimizations", backtests, prices, paper.Value, cancellationToken);
    }

    private static async Task<Ok<OptimizationList>> ListAsync(TradingDbContext db, CancellationToken cancellationToken)
    {
        var rows = await db.Backtests.AsNoTracking().Where(b => b.Search != null).OrderByDescending(b => b.JobId).Take(100)
            .Join(db.Jobs.AsNoTracking(), b => b.JobId, j => j.Id, (b, j) => new { b, j }).ToListAsync(cancellationToken);
        return TypedResults.Ok(new OptimizationList([.. rows.OrderByDescending(r => r.b.JobId).Select(r => OptimizationView.Of(r.b, r.j))]));
    }

    private static async Task<Results<Ok<OptimizationView>, ProblemHttpResult>> GetAsync(long id, TradingDbContext db, CancellationToken cancellationToken)
    {
        var row = await db.Backtests.AsNoTracking().FirstOrDefaultAsync(b => b.JobId == id && b.Search != null, cancellationToken);
        var job = await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, cancellationToken);
        return row is null || job is null ? BacktestsApi.NotFound($"no optimization {id}") : TypedResults.Ok(OptimizationView.Of(row, job));
    }

    private static async Task<Results<PhysicalFileHttpResult, ProblemHttpResult>> GetArtifact(long id, string name, TradingDbContext db,
        IOptions<ArtifactsOptions> artifacts, CancellationToken cancellationToken)
    {
        if (!OptimizationArtifacts.Names.Contains(name))
            return BacktestsApi.NotFound($"no artifact '{name}'; a search has {string.Join(", ", OptimizationArtifacts.Names)}");
        if (!await db.Backtests.AnyAsync(b => b.JobId == id && b.Search != null && b.Summary != null, cancellationToken))
            return BacktestsApi.NotFound($"no completed optimization {id}");
        return BacktestsApi.File(artifacts.Value, id, name, "optimization");
    }

    /// <summary>The body of POST /optimizations, for the OpenAPI document (the handler reads the JSON itself to name bad fields).</summary>
    private sealed record OptimizationBody(string? Strategy, int? Version, Dictionary<string, decimal>? Knobs, string[] Symbols, string Timeframe,
        DateTimeOffset From, DateTimeOffset To, decimal? StartingCash, KnobRange[] Ranges, string? Search, int? Trials, int? Seed, string? Metric, int? Folds);
}

public sealed record OptimizationList(IReadOnlyList<OptimizationView> Optimizations);

/// <summary>A search: its id (its job's), the backtest it repeats, the search, its job and, once completed, its summary and artifacts.</summary>
public sealed record OptimizationView(long Id, string Strategy, int Version, JsonElement Knobs, IReadOnlyList<string> Symbols, string Timeframe,
    DateTimeOffset From, DateTimeOffset To, decimal StartingCash, decimal FeeRate, JsonElement Search, JobView Job, JsonElement? Summary,
    IReadOnlyList<ArtifactView> Artifacts, DateTimeOffset CreatedAt)
{
    public static OptimizationView Of(Backtest b, Job job)
    {
        var spec = SearchSpec.FromJson(b.Search!);
        return new(b.JobId, b.Strategy, b.Version, BacktestView.Json(b.Knobs)!.Value, b.Symbols, b.Timeframe, b.From, b.To, b.StartingCash, b.FeeRate,
            BacktestView.Json(b.Search)!.Value, JobView.From(job), BacktestView.Json(b.Summary),
            b.Summary is null ? [] : [.. OptimizationArtifacts.NamesFor(spec.Ranges.Count).Select(n => new ArtifactView(n, $"/optimizations/{b.JobId}/artifacts/{n}"))],
            b.CreatedAt);
    }
}
