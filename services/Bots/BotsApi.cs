using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using TradingBots.Data;
using TradingBots.Paper;
using TradingBots.Strategies;
using TradingBots.Strategies.Users;

namespace TradingBots.Bots;

/// <summary>POST /bots, GET /bots, GET /bots/{id}, POST /bots/{id}/knobs, GET /strategies.</summary>
public static class BotsApi
{
    /// <summary>A bot's definition is a few hundred bytes.</summary>
    public const long MaxBodyBytes = 64 * 1024;

    public static WebApplication MapBotsApi(this WebApplication app)
    {
        var api = app.MapGroup("").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/bots", CreateAsync).WithBodyLimit(MaxBodyBytes).Accepts<BotBody>("application/json")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status502BadGateway)
            .WithSummary("Create a bot (paper mode; strategy baseline v1 unless named)");
        api.MapGet("/bots", ListAsync).WithSummary("Bots, newest first (limit, default 100, at most 500; before: next_before of the page before)");
        api.MapGet("/bots/{id:long}", GetAsync).ProducesProblem(StatusCodes.Status404NotFound).WithSummary("One bot with its current job, latest portfolio snapshot and open-trade count");
        api.MapPost("/bots/{id:long}/knobs", SetKnobsAsync).WithBodyLimit(MaxBodyBytes).Accepts<Dictionary<string, decimal?>>("application/json")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithSummary("Merge knobs into a bot's (null resets one to its default); takes effect on the next tick");
        api.MapPost("/bots/{id:long}/start", StartAsync).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Start a bot: a job (bot.run) and a job message for a Worker; a running bot: 200, no second job; an llm bot only with a model Ollama has (else 400 naming knobs.model)");
        api.MapPost("/bots/{id:long}/stop", StopAsync).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Ask a bot to stop (its run ends within one tick); a stopped bot: 200");
        api.MapGet("/jobs", ListJobsAsync).ProducesProblem(StatusCodes.Status400BadRequest).WithSummary("Jobs, newest first (filters bot_id, status)");
        api.MapGet("/jobs/{id:long}", GetJobAsync).ProducesProblem(StatusCodes.Status404NotFound).WithSummary("One job");
        api.MapGet("/strategies", ListStrategiesAsync)
            .WithSummary("Every strategy with its knobs (type, default, range, meaning): the built-ins and the strategies folder's, a file that does not compile with its diagnostics");
        return app;
    }

    private static async Task<Ok<StrategyList>> ListStrategiesAsync(StrategyCatalog catalog, CancellationToken cancellationToken) =>
        TypedResults.Ok(new StrategyList([.. (await catalog.CurrentAsync(cancellationToken)).Entries.Select(StrategyView.From)]));

    private static async Task<Results<Created<BotDetails>, ValidationProblem, ProblemHttpResult>> CreateAsync(HttpRequest request,
        TradingDbContext db, PriceSource prices, StrategyCatalog catalog, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await ReadAsync(request, cancellationToken) is not { } body) return Invalid("body", "not valid JSON");
        using (body)
        {
            var (bot, errors) = BotRequests.Parse(body.RootElement, await catalog.CurrentAsync(cancellationToken));
            if (bot is null) return TypedResults.ValidationProblem(errors);
            try
            {
                var (_, unlisted) = await prices.GetListedQuotesAsync(bot.Symbols, cancellationToken);
                if (unlisted.Count > 0) return Invalid("symbols", $"not listed on the exchange: {string.Join(", ", unlisted)}");
            }
            catch (PriceException ex)
            {
                return TypedResults.Problem(statusCode: (int)ex.Status is 503 ? 503 : 502, title: "Market data unavailable",
                    detail: $"the symbols cannot be checked: {ex.Message}");
            }

            var now = time.GetUtcNow();
            // Resolved or created, once even under concurrent creation: (name, version) is unique.
            await db.Database.ExecuteSqlInterpolatedAsync($"""
                INSERT INTO strategies (name, version, description, created_at) VALUES ({bot.Strategy.Name}, {bot.Strategy.Version},
                {bot.Strategy.Description}, {now}) ON CONFLICT (name, version) DO NOTHING
                """, cancellationToken);
            var row = new Bot
            {
                Name = bot.Name, Symbols = [.. bot.Symbols], Timeframe = bot.Timeframe, PaperMode = true, Strategy = StrategyRegistry.Key(bot.Strategy),
                Knobs = bot.Knobs, Status = BotStatus.Stopped, StopRequested = false, CreatedAt = now, UpdatedAt = now,
            };
            db.Bots.Add(row);
            await db.SaveChangesAsync(cancellationToken);
            return TypedResults.Created($"/bots/{row.Id}", new BotDetails(BotView.From(row), null, null, 0));
        }
    }

    private static async Task<Results<Ok<BotList>, ValidationProblem>> ListAsync(string? limit, string? before, TradingDbContext db,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var take = (int)(Page(limit, "limit", MaxPage, errors) ?? DefaultPage);
        var beforeId = Page(before, "before", long.MaxValue, errors);
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        var page = await db.Bots.AsNoTracking().Where(b => beforeId == null || b.Id < beforeId).OrderByDescending(b => b.Id).Take(take + 1)
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new BotList([.. page.Take(take).Select(BotView.From)], page.Count > take ? page[take - 1].Id : null));
    }

    /// <summary>A paging parameter (limit, before, an id): absent, or an integer from 1 to <paramref name="max"/> (else its error).</summary>
    private static long? Page(string? value, string field, long max, Dictionary<string, string[]> errors)
    {
        if (value is null) return null;
        if (long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= 1 && n <= max) return n;
        errors[field] = [$"must be an integer from 1 to {max}"];
        return null;
    }

    private static async Task<Results<Ok<BotDetails>, ProblemHttpResult>> GetAsync(long id, TradingDbContext db, CancellationToken cancellationToken)
    {
        return await DetailsAsync(id, db, cancellationToken) is { } details ? TypedResults.Ok(details) : NotFound(id);
    }

    private static async Task<BotDetails?> DetailsAsync(long id, TradingDbContext db, CancellationToken cancellationToken)
    {
        var bot = await db.Bots.AsNoTracking().FirstOrDefaultAsync(b => b.Id == id, cancellationToken);
        if (bot is null) return null;
        var job = await db.Jobs.AsNoTracking().Where(j => j.BotId == id).OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id)
            .FirstOrDefaultAsync(cancellationToken);
        var snapshot = await db.PortfolioSnapshots.AsNoTracking().Where(s => s.BotId == id).OrderByDescending(s => s.Timestamp)
            .Select(s => new SnapshotView(s.Equity, s.Cash, s.PositionsValue, s.Timestamp)).FirstOrDefaultAsync(cancellationToken);
        var open = await db.Trades.CountAsync(t => t.BotId == id && t.Status == TradeStatus.Open, cancellationToken);
        return new BotDetails(BotView.From(bot), job is null ? null : JobView.From(job), snapshot, open);
    }

    private static async Task<Results<Ok<BotView>, ValidationProblem, ProblemHttpResult>> SetKnobsAsync(long id, HttpRequest request,
        TradingDbContext db, StrategyCatalog catalog, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await ReadAsync(request, cancellationToken) is not { } body) return Invalid("body", "not valid JSON");
        using (body)
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            // Under the bot's row lock: two merges at once both count.
            var bot = await db.Bots.FromSql($"SELECT * FROM bots WHERE id = {id} FOR UPDATE").FirstOrDefaultAsync(cancellationToken);
            if (bot is null) return NotFound(id);
            if (await catalog.FindAsync(bot.Strategy, cancellationToken) is not { } strategy)
                return TypedResults.Problem(statusCode: 409, title: "Conflict", detail: $"bot {id} has strategy '{bot.Strategy}', which is not known (a built-in of another version, or a user strategy no longer stored)");
            var (merged, errors) = BotRequests.Merge(strategy, bot.Knobs, body.RootElement);
            if (merged is null) return TypedResults.ValidationProblem(errors);
            bot.Knobs = merged;
            bot.UpdatedAt = time.GetUtcNow();
            await db.SaveChangesAsync(cancellationToken);
            // A running bot's schedule reads its lease's typed tick, written here from the validated knob.
            var tick = BotKnobs.Tick(KnobValues.Parse(merged, StrategyRegistry.KnobsOf(strategy)));
            await db.BotLeases.Where(l => l.BotId == id).ExecuteUpdateAsync(l => l.SetProperty(x => x.TickSeconds, tick), cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return TypedResults.Ok(BotView.From(bot));
        }
    }

    private static async Task<Results<Accepted<BotDetails>, Ok<BotDetails>, ValidationProblem, ProblemHttpResult>> StartAsync(long id, BotLifecycle bots,
        ModelCheck models, TradingDbContext db, CancellationToken cancellationToken)
    {
        if (await db.Bots.AsNoTracking().FirstOrDefaultAsync(b => b.Id == id, cancellationToken) is { Status: BotStatus.Stopped or BotStatus.Error } stopped
            && await models.ProblemAsync(stopped, cancellationToken) is { } problem)
        {
            return problem.Result switch { ValidationProblem invalid => invalid, ProblemHttpResult failed => failed, _ => throw new InvalidOperationException() };
        }
        var (outcome, reason) = await bots.StartAsync(id, cancellationToken);
        return outcome switch
        {
            BotLifecycle.Outcome.NotFound => NotFound(id),
            BotLifecycle.Outcome.Conflict => TypedResults.Problem(statusCode: 409, title: "Conflict", detail: reason),
            BotLifecycle.Outcome.Changed => TypedResults.Accepted($"/bots/{id}", await DetailsAsync(id, db, cancellationToken)),
            _ => TypedResults.Ok(await DetailsAsync(id, db, cancellationToken)),
        };
    }

    private static async Task<Results<Accepted<BotDetails>, Ok<BotDetails>, ProblemHttpResult>> StopAsync(long id, BotLifecycle bots,
        TradingDbContext db, CancellationToken cancellationToken) => await bots.StopAsync(id, cancellationToken) switch
    {
        BotLifecycle.Outcome.NotFound => NotFound(id),
        BotLifecycle.Outcome.Changed => TypedResults.Accepted($"/bots/{id}", await DetailsAsync(id, db, cancellationToken)),
        _ => TypedResults.Ok(await DetailsAsync(id, db, cancellationToken)),
    };

    private const int DefaultPage = 100, MaxPage = 500;

    private static async Task<Results<Ok<JobPage>, ValidationProblem>> ListJobsAsync(string? bot_id, string? status, string? limit, string? before,
        TradingDbContext db, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var botId = Page(bot_id, "bot_id", long.MaxValue, errors);
        var take = (int)(Page(limit, "limit", MaxPage, errors) ?? DefaultPage);
        var beforeId = Page(before, "before", long.MaxValue, errors);
        string[] statuses = [JobStatus.Queued, JobStatus.Running, JobStatus.Completed, JobStatus.Cancelled, JobStatus.Failed];
        if (status is not null && !statuses.Contains(status)) errors["status"] = [$"must be one of {string.Join(", ", statuses)}"];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var jobs = db.Jobs.AsNoTracking();
        if (botId is not null) jobs = jobs.Where(j => j.BotId == botId);
        if (status is not null) jobs = jobs.Where(j => j.Status == status);
        if (beforeId is not null) jobs = jobs.Where(j => j.Id < beforeId);
        // Job ids come from one identity sequence: newest first is id order.
        var page = await jobs.OrderByDescending(j => j.Id).Take(take + 1).ToListAsync(cancellationToken);
        return TypedResults.Ok(new JobPage([.. page.Take(take).Select(JobView.From)], page.Count > take ? page[take - 1].Id : null));
    }

    private static async Task<Results<Ok<JobView>, ProblemHttpResult>> GetJobAsync(long id, TradingDbContext db, CancellationToken cancellationToken) =>
        await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, cancellationToken) is { } job
            ? TypedResults.Ok(JobView.From(job))
            : TypedResults.Problem(statusCode: 404, title: "Not found", detail: $"no job {id}");

    private static async Task<JsonDocument?> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ValidationProblem Invalid(string field, string reason) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [reason] });

    private static ProblemHttpResult NotFound(long id) =>
        TypedResults.Problem(statusCode: 404, title: "Not found", detail: $"no bot {id}",
            extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { ["id"] = [$"no bot {id}"] } });

    /// <summary>The body of POST /bots, for the OpenAPI document (the handler reads the JSON itself to name bad fields).</summary>
    private sealed record BotBody(string Name, string[] Symbols, string Timeframe, bool? PaperMode, string? Strategy, Dictionary<string, decimal>? Knobs);
}
