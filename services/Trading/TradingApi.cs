using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using TradingBots.Data;
using TradingBots.Paper;

namespace TradingBots.Trading;

/// <summary>POST /orders, GET /trades, POST /trades/{id}/close, GET /portfolio[/{bot_id}].</summary>
public static class TradingApi
{
    private const int DefaultPage = 100, MaxPage = 500;

    /// <summary>A POST /orders body is a few hundred bytes; anything near this is not an order.</summary>
    public const long MaxOrderBytes = 16 * 1024;

    public static WebApplication MapTradingApi(this WebApplication app)
    {
        // Every endpoint reads the database: 503 (with Retry-After) while it is down.
        var api = app.MapGroup("").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/orders", PlaceOrderAsync)
            .WithBodyLimit(MaxOrderBytes)
            .Accepts<OrderBody>("application/json")
            .Produces<OrderResult>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status502BadGateway)
            .WithSummary("Place a paper market order (header Idempotency-Key optional)");
        api.MapGet("/trades", ListTradesAsync)
            .Produces<TradePage>().ProducesProblem(StatusCodes.Status400BadRequest)
            .WithSummary("Trades, newest first");
        api.MapPost("/trades/{id:long}/close", CloseTradeAsync)
            .Produces<OrderResult>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status502BadGateway)
            .WithSummary("Close an open trade at the live price (the last known one when the symbol is no longer listed)");
        api.MapGet("/portfolio", async (string? limit, string? before, Portfolio portfolio, CancellationToken ct) => await Guard(async () =>
                {
                    var take = (int)(Number(limit, "limit", 1, MaxPage) ?? DefaultPage);
                    var (accounts, next) = await portfolio.GetPageAsync(take, Number(before, "before", 1, long.MaxValue), ct);
                    return TypedResults.Ok(new AccountPage(accounts, next));
                }))
            .Produces<AccountPage>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status502BadGateway)
            .WithSummary("Paper accounts marked to market: the manual one, then bots' newest first (limit, before; next_before for the next page)");
        api.MapGet("/portfolio/{botId:long}", async (long botId, Portfolio portfolio, CancellationToken ct) =>
                await Guard<IResult>(async () => await portfolio.GetAsync(botId, ct) is { } account
                    ? TypedResults.Ok(account) : Problem(new PaperException(404, "bot_id", $"no bot {botId}"))))
            .Produces<Account>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status502BadGateway)
            .WithSummary("One bot's paper account");
        api.MapGet("/portfolio/{botId:long}/snapshots", SnapshotsAsync)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("A bot's portfolio snapshots (its equity curve), the newest limit (500) of them, oldest first");
        return app;
    }

    public sealed record SnapshotPoint(decimal Equity, decimal Cash, decimal PositionsValue, DateTimeOffset Timestamp);

    public sealed record SnapshotList(IReadOnlyList<SnapshotPoint> Snapshots);

    private const int DefaultSnapshots = 500, MaxSnapshots = 10_000;

    private static async Task<Results<Ok<SnapshotList>, ValidationProblem, ProblemHttpResult>> SnapshotsAsync(long botId, string? limit,
        TradingDbContext db, CancellationToken cancellationToken)
    {
        var count = DefaultSnapshots;
        if (limit is not null && (!int.TryParse(limit, out count) || count < 1 || count > MaxSnapshots))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"must be an integer from 1 to {MaxSnapshots}"] });
        if (!await db.Bots.AnyAsync(b => b.Id == botId, cancellationToken))
            return TypedResults.Problem(statusCode: 404, title: "Not found", detail: $"no bot {botId}");
        var newest = await db.PortfolioSnapshots.AsNoTracking().Where(s => s.BotId == botId)
            .OrderByDescending(s => s.Timestamp).ThenByDescending(s => s.Id).Take(count)
            .Select(s => new SnapshotPoint(s.Equity, s.Cash, s.PositionsValue, s.Timestamp)).ToListAsync(cancellationToken);
        newest.Reverse();
        return TypedResults.Ok(new SnapshotList(newest));
    }

    private static async Task<IResult> PlaceOrderAsync(HttpRequest http, PaperEngine engine, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await http.Body.CopyToAsync(buffer, cancellationToken);
        var key = http.Headers["Idempotency-Key"].ToString() is { Length: > 0 } k ? k : null;
        return await Guard<IResult>(async () =>
        {
            if (key is { Length: > 200 }) throw new PaperException(400, "Idempotency-Key", "at most 200 characters");
            JsonDocument body;
            try { body = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length)); }
            catch (JsonException ex) { throw new PaperException(400, "body", $"not valid JSON: {ex.Message}"); }
            OrderRequest request;
            using (body) request = OrderValidation.Parse(body.RootElement);
            var (status, json) = await engine.PlaceOrderAsync(request, key is null ? null : Idempotency.Scoped(Idempotency.Orders, key),
                key is null ? "" : Idempotency.Hash(request), cancellationToken);
            return TypedResults.Text(json, "application/json", statusCode: status);
        });
    }

    private static async Task<IResult> ListTradesAsync(string? status, string? bot_id, string? limit, string? cursor,
        TradingDbContext db, CancellationToken cancellationToken) => await Guard<IResult>(async () =>
    {
        if (status is not (null or TradeStatus.Open or TradeStatus.Closed)) throw new PaperException(400, "status", "must be open or closed");
        var botId = Number(bot_id, "bot_id", 1, long.MaxValue);
        var take = (int)(Number(limit, "limit", 1, MaxPage) ?? DefaultPage);
        var before = Cursor(cursor);

        var trades = db.Trades.AsNoTracking();
        if (status is not null) trades = trades.Where(t => t.Status == status);
        if (botId is not null) trades = trades.Where(t => t.BotId == botId);
        if (before is var (at, id)) trades = trades.Where(t => t.CreatedAt < at || (t.CreatedAt == at && t.Id < id));
        var page = await trades.OrderByDescending(t => t.CreatedAt).ThenByDescending(t => t.Id).Take(take + 1).ToListAsync(cancellationToken);
        // Newest first by creation time (ids come from per-process blocks, so they are not in time order); the cursor is
        // the last trade's (created_at, id): pass next_cursor as cursor for the next, older page.
        var last = page.Count > take ? page[take - 1] : null;
        return TypedResults.Ok(new TradePage([.. page.Take(take).Select(TradeView.From)],
            last is null ? null : $"{(last.CreatedAt - DateTimeOffset.UnixEpoch).Ticks / 10}-{last.Id}"));
    });

    private static async Task<IResult> CloseTradeAsync(long id, PaperEngine engine, CancellationToken cancellationToken) =>
        await Guard<IResult>(async () => TypedResults.Ok(await engine.CloseTradeAsync(id, cancellationToken)));

    /// <summary>A next_cursor of GET /trades: "{created_at in Unix microseconds}-{id}".</summary>
    private static (DateTimeOffset At, long Id)? Cursor(string? value)
    {
        if (value is null) return null;
        var parts = value.Split('-');
        return parts.Length == 2 && Number(parts[0], "cursor", 0, MaxCursorMicros) is { } micros && Number(parts[1], "cursor", 1, long.MaxValue) is { } id
            ? (DateTimeOffset.UnixEpoch.AddTicks(micros * 10), id)
            : throw new PaperException(400, "cursor", "not a next_cursor of this endpoint");
    }

    /// <summary>The latest time a cursor can name (DateTimeOffset's last microsecond), so a cursor past it is a 400, not an overflow.</summary>
    private static readonly long MaxCursorMicros = (DateTimeOffset.MaxValue - DateTimeOffset.UnixEpoch).Ticks / 10;

    private static long? Number(string? value, string field, long min, long max) =>
        value is null ? null
        : long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n : throw new PaperException(400, field, $"must be an integer from {min} to {max}");

    /// <summary>Turns refusals into ProblemDetails naming the field; nothing was written for any of them.</summary>
    private static async Task<IResult> Guard<T>(Func<Task<T>> handle) where T : IResult
    {
        try
        {
            return await handle();
        }
        catch (PaperException ex)
        {
            return Problem(ex);
        }
        catch (PriceException ex)
        {
            return ex.Status switch
            {
                System.Net.HttpStatusCode.BadRequest => Problem(new PaperException(400, "symbol", ex.Message.Replace("symbols: ", ""))),
                System.Net.HttpStatusCode.ServiceUnavailable => new RetryAfterResult(ex.RetryAfter,
                    TypedResults.Problem(statusCode: 503, title: "Market data rate limited", detail: ex.Message)),
                _ => TypedResults.Problem(statusCode: 502, title: "Market data unavailable", detail: ex.Message),
            };
        }
        catch (DbUpdateException ex) when (ex.InnerException is Npgsql.PostgresException { SqlState: "23505", TableName: "idempotency_keys" })
        {
            return Problem(new PaperException(409, "Idempotency-Key", "this key is being used by another request"));
        }
    }

    private static ProblemHttpResult Problem(PaperException ex) =>
        TypedResults.Problem(statusCode: ex.Status, title: Title(ex.Status), detail: ex.Message,
            extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [ex.Field] = [ex.Reason] } });

    private static string Title(int status) => status switch
    {
        400 => "Invalid request",
        404 => "Not found",
        409 => "Conflict",
        422 => "Refused",
        _ => "Error",
    };

    /// <summary>The body of POST /orders, for the OpenAPI document (the handler reads the JSON itself to name bad fields).</summary>
    private sealed record OrderBody(long? BotId, string Symbol, string Side, string Type, decimal? QuoteAmount, decimal? BaseQty);

    private sealed record TradePage(IReadOnlyList<TradeView> Trades, string? NextCursor);

    private sealed record AccountPage(IReadOnlyList<Account> Accounts, long? NextBefore);

    /// <summary>A result with a Retry-After header (the market's rate limit, passed on).</summary>
    private sealed class RetryAfterResult(string? seconds, IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            if (seconds is not null) context.Response.Headers.RetryAfter = seconds;
            return inner.ExecuteAsync(context);
        }
    }
}
