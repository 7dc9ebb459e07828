using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TradingBots.Backtests;
using TradingBots.Data;
using TradingBots.Paper;
using TradingBots.Strategies.Users;

namespace TradingBots.Bots;

/// <summary>POST /backtests, GET /backtests, GET /backtests/{id}, GET /backtests/{id}/artifacts/{name}, POST /jobs/{id}/cancel.</summary>
public static class BacktestsApi
{
    public static WebApplication MapBacktestsApi(this WebApplication app)
    {
        var api = app.MapGroup("").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/backtests", CreateAsync).WithBodyLimit(BotsApi.MaxBodyBytes).Accepts<BacktestBody>("application/json")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status502BadGateway)
            .WithSummary("Backtest a strategy over a range of closed candles: a job (task backtest) a Worker runs; follow it by job.progress");
        api.MapGet("/backtests", ListAsync).WithSummary("Backtests, newest first (at most 100)");
        api.MapGet("/backtests/{id:long}", GetAsync).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("A backtest with its job and, once completed, its summary and artifacts");
        api.MapGet("/backtests/{id:long}/artifacts/{name}", GetArtifact).ProducesProblem(StatusCodes.Status404NotFound)
            .Produces(StatusCodes.Status200OK, contentType: "text/csv").Produces(StatusCodes.Status200OK, contentType: "image/png")
            .WithSummary("One artifact of a completed backtest: trades.csv, equity.csv, summary.json, equity.png, drawdown.png");
        api.MapPost("/jobs/{id:long}/cancel", CancelAsync).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Cancel a job: a backtest at once (200); a bot's run by stopping its bot (202); a finished job: 409");
        return app;
    }

    private static async Task<Results<Accepted<BacktestView>, ValidationProblem, ProblemHttpResult>> CreateAsync(HttpRequest request,
        BacktestLifecycle backtests, PriceSource prices, StrategyCatalog catalog, IOptions<PaperOptions> paper, IOptions<BacktestsOptions> bounds,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var strategies = await catalog.CurrentAsync(cancellationToken);
        return await CreateJobAsync(request, body =>
        {
            var (backtest, errors) = BacktestRequests.Parse(body, strategies, time.GetUtcNow(), bounds.Value.MaxCandles);
            return (backtest, null, errors);
        }, BacktestView.Of, "backtests", backtests, prices, paper.Value, cancellationToken);
    }

    /// <summary>
    /// A backtest job's creation, for a backtest or a search (<paramref name="parse"/>: the body checked, with the search's
    /// spec or null): the body read and checked, the symbols asked of the exchange, the job and its row written, 202.
    /// </summary>
    internal static async Task<Results<Accepted<TView>, ValidationProblem, ProblemHttpResult>> CreateJobAsync<TView>(HttpRequest request,
        Func<JsonElement, (NewBacktest? Backtest, string? Search, Dictionary<string, string[]> Errors)> parse, Func<Backtest, Job, TView> view, string path,
        BacktestLifecycle backtests, PriceSource prices, PaperOptions paper, CancellationToken cancellationToken)
    {
        JsonDocument body;
        try { body = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken); }
        catch (JsonException) { return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["not valid JSON"] }); }
        using (body)
        {
            var (backtest, search, errors) = parse(body.RootElement);
            if (backtest is null) return TypedResults.ValidationProblem(errors);
            var (invalid, unavailable) = await UnlistedAsync(prices, backtest.Symbols, cancellationToken);
            if (invalid is not null) return invalid;
            if (unavailable is not null) return unavailable;
            var cash = backtest.StartingCash ?? PaperRules.StartingCash(backtest.Knobs, paper.StartingCash);
            var (job, row) = await backtests.CreateAsync(backtest, cash, PaperRules.FeeRate(backtest.Knobs, paper.FeeRate), cancellationToken, search);
            return TypedResults.Accepted($"/{path}/{job.Id}", view(row, job));
        }
    }

    /// <summary>A 400 naming the symbols the exchange does not list, or a 502/503 when it cannot say; neither when all are listed.</summary>
    private static async Task<(ValidationProblem? Invalid, ProblemHttpResult? Unavailable)> UnlistedAsync(PriceSource prices,
        IReadOnlyCollection<string> symbols, CancellationToken cancellationToken)
    {
        try
        {
            var (_, unlisted) = await prices.GetListedQuotesAsync(symbols, cancellationToken);
            return (unlisted.Count == 0 ? null
                : TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["symbols"] = [$"not listed on the exchange: {string.Join(", ", unlisted)}"] }), null);
        }
        catch (PriceException ex)
        {
            return (null, TypedResults.Problem(statusCode: (int)ex.Status is 503 ? 503 : 502, title: "Market data unavailable",
                detail: $"the symbols cannot be checked: {ex.Message}"));
        }
    }

    private static async Task<Ok<BacktestList>> ListAsync(TradingDbContext db, CancellationToken cancellationToken)
    {
        var rows = await db.Backtests.AsNoTracking().Where(b => b.Search == null).OrderByDescending(b => b.JobId).Take(100)
            .Join(db.Jobs.AsNoTracking(), b => b.JobId, j => j.Id, (b, j) => new { b, j }).ToListAsync(cancellationToken);
        return TypedResults.Ok(new BacktestList([.. rows.OrderByDescending(r => r.b.JobId).Select(r => BacktestView.Of(r.b, r.j))]));
    }

    private static async Task<Results<Ok<BacktestView>, ProblemHttpResult>> GetAsync(long id, TradingDbContext db, CancellationToken cancellationToken)
    {
        var backtest = await db.Backtests.AsNoTracking().FirstOrDefaultAsync(b => b.JobId == id && b.Search == null, cancellationToken);
        var job = await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, cancellationToken);
        return backtest is null || job is null ? NotFound($"no backtest {id}") : TypedResults.Ok(BacktestView.Of(backtest, job));
    }

    private static async Task<Results<PhysicalFileHttpResult, ProblemHttpResult>> GetArtifact(long id, string name, TradingDbContext db,
        IOptions<ArtifactsOptions> artifacts, CancellationToken cancellationToken)
    {
        // Only the names a backtest writes: nothing else in (or above) the directory can be asked for.
        if (!BacktestArtifacts.Names.Contains(name))
            return NotFound($"no artifact '{name}'; a backtest has {string.Join(", ", BacktestArtifacts.Names)}");
        // Only a completed backtest's (its summary is written once its files are): never a file a cancelled or older run left.
        if (!await db.Backtests.AnyAsync(b => b.JobId == id && b.Search == null && b.Summary != null, cancellationToken))
            return NotFound($"no completed backtest {id}");
        return File(artifacts.Value, id, name, "backtest");
    }

    /// <summary>A completed job's artifact file, CSVs as downloads named after the job.</summary>
    internal static Results<PhysicalFileHttpResult, ProblemHttpResult> File(ArtifactsOptions artifacts, long id, string name, string what)
    {
        var path = Path.Combine(artifacts.JobPath(id), name);
        if (!System.IO.File.Exists(path)) return NotFound($"{what} {id} has no {name} any more (its directory {artifacts.JobPath(id)} was emptied)");
        var type = Path.GetExtension(name) switch { ".csv" => "text/csv", ".json" => "application/json", _ => "image/png" };
        return TypedResults.PhysicalFile(path, type, fileDownloadName: name.EndsWith(".csv", StringComparison.Ordinal) ? $"{what}-{id}-{name}" : null);
    }

    private static async Task<Results<Ok<JobView>, Accepted<JobView>, ProblemHttpResult>> CancelAsync(long id, BacktestLifecycle backtests,
        TradingDbContext db, CancellationToken cancellationToken)
    {
        var outcome = await backtests.CancelAsync(id, cancellationToken);
        var job = await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, cancellationToken);
        return outcome switch
        {
            _ when job is null => NotFound($"no job {id}"),
            BacktestLifecycle.Outcome.NotFound => NotFound($"no job {id}"),
            BacktestLifecycle.Outcome.Finished => TypedResults.Problem(statusCode: 409, title: "Conflict", detail: $"job {id} is {job.Status} already"),
            BacktestLifecycle.Outcome.Stopping => TypedResults.Accepted($"/jobs/{id}", JobView.From(job)),
            _ => TypedResults.Ok(JobView.From(job)),
        };
    }

    internal static ProblemHttpResult NotFound(string detail) => TypedResults.Problem(statusCode: 404, title: "Not found", detail: detail);

    /// <summary>The body of POST /backtests, for the OpenAPI document (the handler reads the JSON itself to name bad fields).</summary>
    private sealed record BacktestBody(string? Strategy, int? Version, Dictionary<string, decimal>? Knobs, string[] Symbols, string Timeframe,
        DateTimeOffset From, DateTimeOffset To, decimal? StartingCash);
}

public sealed record BacktestList(IReadOnlyList<BacktestView> Backtests);

public sealed record ArtifactView(string Name, string Url);

/// <summary>A backtest: its id (its job's), setup, job and, once completed, summary and artifacts.</summary>
public sealed record BacktestView(long Id, string Strategy, int Version, JsonElement Knobs, IReadOnlyList<string> Symbols, string Timeframe,
    DateTimeOffset From, DateTimeOffset To, decimal StartingCash, decimal FeeRate, JobView Job, JsonElement? Summary,
    IReadOnlyList<ArtifactView> Artifacts, DateTimeOffset CreatedAt)
{
    public static BacktestView Of(Backtest b, Job job) => new(b.JobId, b.Strategy, b.Version, Json(b.Knobs)!.Value, b.Symbols, b.Timeframe,
        b.From, b.To, b.StartingCash, b.FeeRate, JobView.From(job), Json(b.Summary),
        b.Summary is null ? [] : [.. BacktestArtifacts.Names.Select(n => new ArtifactView(n, $"/backtests/{b.JobId}/artifacts/{n}"))], b.CreatedAt);

    internal static JsonElement? Json(string? json)
    {
        if (json is null) return null;
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
