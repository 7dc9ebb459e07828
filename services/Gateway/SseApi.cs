using System.Buffers;
using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using StackExchange.Redis;
using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Gateway.Sse;

namespace TradingBots.Gateway;

/// <summary>
/// GET /sse (and /api/sse): the events as Server-Sent Events. One frame per event: <c>id:</c> its id in the retained
/// log, <c>event:</c> its type, <c>data:</c> the spec's payload. With Last-Event-ID the client first gets what followed
/// that id from the log, then live events, with no gap and no duplicate (each event is written only if its id is above
/// the last one written).
/// </summary>
public static class SseApi
{
    /// <summary>Milliseconds an EventSource waits before reconnecting.</summary>
    private const int RetryMs = 1000;

    /// <summary>Log entries read per request while catching up.</summary>
    private const int ReplayPage = 1000;

    public static WebApplication MapSseApi(this WebApplication app)
    {
        foreach (var prefix in new[] { "", "/api" })
        {
            app.MapGroup(prefix).MapGet("/sse", ConnectAsync)
                .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
                .WithSummary("The event stream (bot.state, portfolio.snapshot, job.progress, trade.*, system.notice); filters bot_id, job_id; resumes after Last-Event-ID");
        }
        return app;
    }

    private static async Task<Results<SseStream, ValidationProblem, NotFound<ProblemDetails>, ProblemHttpResult>> ConnectAsync(HttpContext context,
        string? bot_id, string? job_id, SseHub hub, IConnectionMultiplexer redis, NpgsqlDataSource database, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var bot = Id(bot_id, "bot_id", errors);
        var job = Id(job_id, "job_id", errors);
        LogId? resume = null;
        if (context.Request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } last)
        {
            if (LogId.TryParse(last, out var id)) resume = id;
            else errors["Last-Event-ID"] = [$"'{last}' is not an event id (the id: of a frame, e.g. 1764680000000-0)"];
        }
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var jobActive = false;
        if (job is { } jobId)
        {
            await using var command = database.CreateCommand("SELECT bot_id, status, created_at, updated_at FROM jobs WHERE id = @id");
            command.Parameters.AddWithValue("id", jobId);
            await using var row = await command.ExecuteReaderAsync(cancellationToken);
            if (!await row.ReadAsync(cancellationToken))
                return TypedResults.NotFound(new ProblemDetails { Status = 404, Title = "No such job", Detail = $"job {jobId} does not exist" });
            long? ofBot = row.IsDBNull(0) ? null : row.GetInt64(0);
            if (bot is { } b && ofBot != b)
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["job_id"] = [$"job {jobId} is not bot {b}'s"] });
            bot = ofBot;
            // Whether the job was active where the stream starts: now, or at the event the client resumes after.
            var (status, created, updated) = (row.GetString(1), row.GetFieldValue<DateTimeOffset>(2), row.GetFieldValue<DateTimeOffset>(3));
            var from = resume is { } r ? DateTimeOffset.FromUnixTimeMilliseconds((long)r.Milliseconds) : time.GetUtcNow();
            jobActive = created <= from && (status is JobStatus.Queued or JobStatus.Running || updated > from);
        }
        LogId? newest = null;
        try
        {
            if (!redis.IsConnected) return Unavailable(context, "not connected");
            var entries = await redis.GetDatabase().StreamRangeAsync(EventChannel.Log, "-", "+", 1, StackExchange.Redis.Order.Descending);
            if (entries.Length > 0 && LogId.TryParse(entries[0].Id, out var id)) newest = id;
        }
        catch (RedisException ex)
        {
            return Unavailable(context, ex.Message);
        }
        return new SseStream(hub, redis, new SseFilter(bot, job), jobActive, resume, newest, time);
    }

    /// <summary>
    /// Redis down: a 503 ProblemDetails for a plain client; for an EventSource (it asks for text/event-stream, and would
    /// give up for good on anything but a 200), a stream that says so in a notice and ends, so it reconnects and resumes.
    /// </summary>
    private static Results<SseStream, ValidationProblem, NotFound<ProblemDetails>, ProblemHttpResult> Unavailable(HttpContext context, string why)
    {
        if (context.Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase))
            return SseStream.Unavailable($"The event stream is unavailable (Redis is not reachable); reconnecting in {RetryMs} ms");
        context.Response.Headers.RetryAfter = $"{ProblemResponses.RetryAfterSeconds}";
        return TypedResults.Problem(statusCode: 503, title: "Event stream unavailable", detail: $"Redis, which carries the events, is not reachable: {why}",
            extensions: new Dictionary<string, object?> { ["dependency"] = "redis" });
    }

    private static long? Id(string? text, string field, Dictionary<string, string[]> errors)
    {
        if (text is null) return null;
        if (long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) && id > 0) return id;
        errors[field] = [$"'{text}' is not an id (a positive integer)"];
        return null;
    }

    /// <summary>The stream itself: headers and a first frame at once, then the catch-up from the log, then live events.</summary>
    public sealed class SseStream(SseHub? hub, IConnectionMultiplexer? redis, SseFilter filter, bool jobActive, LogId? resume, LogId? newest,
        TimeProvider time, string? unavailable = null) : IResult, IEndpointMetadataProvider
    {
        /// <summary>A stream that only says why there are no events, then ends (an EventSource reconnects after retry:).</summary>
        public static SseStream Unavailable(string why) => new(null, null, SseFilter.None, false, null, null, TimeProvider.System, why);

        public async Task ExecuteAsync(HttpContext context)
        {
            var cancellationToken = context.RequestAborted;
            if (unavailable is not null || hub is null || redis is null)
            {
                context.Response.ContentType = "text/event-stream";
                context.Response.Headers.CacheControl = "no-cache";
                await context.Response.BodyWriter.WriteAsync(Encoding.UTF8.GetBytes($"retry: {RetryMs}\n\n"), cancellationToken);
                await context.Response.BodyWriter.WriteAsync(SseItem.NoticeFrame(unavailable ?? "unavailable", time.GetUtcNow()), cancellationToken);
                return;
            }
            var client = hub.Join(filter, jobActive, context.Abort);
            try
            {
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.ContentType = "text/event-stream";
                context.Response.Headers.CacheControl = "no-cache";
                context.Response.Headers["X-Accel-Buffering"] = "no";
                // Frames are copied into the response's pipe as they come, and flushed once the buffer is empty (a burst is one
                // send) or 64 KB wait: what a client is behind waits in its buffer of shared frames, not in copies.
                var body = context.Response.BodyWriter;
                body.Write(Encoding.UTF8.GetBytes($"retry: {RetryMs}\n: connected{(resume is { } r ? $", resuming after {r}" : "")}\n\n"));
                await body.FlushAsync(cancellationToken);

                // An event is written only when its id is above the last one written (or, live from the start, than the log's
                // newest when the client came); what it missed is read from the log: on resuming, and after the gateway's
                // subscription dropped.
                var last = resume ?? newest;
                if (resume is not null)
                {
                    last = await ReplayAsync(body, client, last, resuming: true, cancellationToken);
                    await body.FlushAsync(cancellationToken);
                }
                var behind = false;
                while (await client.Reader.WaitToReadAsync(cancellationToken))
                {
                    while (client.Reader.TryRead(out var item))
                    {
                        switch (item.Kind)
                        {
                            case SseItemKind.Heartbeat:
                                body.Write(item.Frame.Span);
                                break;
                            case SseItemKind.Gap:
                                behind = true;
                                break;
                            case SseItemKind.Restored:
                                // Read now, and again at the first live event (the subscription may be back only later).
                                await CatchUpAsync();
                                behind = true;
                                break;
                            case SseItemKind.Event when behind:
                                // The log has this event and everything missed before it: read them there, in order.
                                behind = !await CatchUpAsync();
                                break;
                            case SseItemKind.Event when last is { } seen && item.Id <= seen:
                                break;
                            case SseItemKind.Event:
                                last = item.Id;
                                if (client.Wants(item)) body.Write(item.Frame.Span);
                                break;
                        }
                        if (body.UnflushedBytes > FlushAt) await body.FlushAsync(cancellationToken);
                    }
                    await body.FlushAsync(cancellationToken);
                }

                // Redis failing again while being read (it is coming back): the stream goes on, still behind, and reads later.
                async Task<bool> CatchUpAsync()
                {
                    try
                    {
                        last = await ReplayAsync(body, client, last, resuming: false, cancellationToken);
                        return true;
                    }
                    catch (RedisException)
                    {
                        return false;
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
            catch (IOException) { }                 // the client went away mid-write
            catch (RedisException) { }              // the log could not be read on resuming: the client reconnects and resumes
            finally
            {
                hub.Leave(client);
            }
        }

        private const int FlushAt = 64 * 1024;

        /// <summary>
        /// Writes the log's events after <paramref name="after"/> that the client wants, page by page up to the newest;
        /// returns the id of the last one read. A gap in what the log retains is said as a system.notice (no id).
        /// </summary>
        private async Task<LogId?> ReplayAsync(System.IO.Pipelines.PipeWriter body, SseClient client, LogId? after, bool resuming,
            CancellationToken cancellationToken)
        {
            var log = redis!.GetDatabase();
            if (resuming && after is { } from)
            {
                var oldest = await log.StreamRangeAsync(EventChannel.Log, "-", "+", 1);
                if (oldest.Length == 0 || LogId.TryParse(oldest[0].Id, out var first) && first > from)
                {
                    body.Write(SseItem.NoticeFrame($"Events after {from} may be missing: the log retains the last {EventChannel.LogLength} "
                        + $"events{(oldest.Length > 0 ? $", from {oldest[0].Id}" : "")}", time.GetUtcNow()).Span);
                }
            }
            // From the log's start when there was nothing in it as the client came.
            while (true)
            {
                var page = await log.StreamRangeAsync(EventChannel.Log, after is { } a ? $"({a}" : "-", "+", ReplayPage);
                foreach (var entry in page)
                {
                    if (SseItem.Parse(EventPublisher.Envelope(entry.Id.ToString(), entry[EventChannel.EnvelopeField].ToString())) is not { } item) continue;
                    after = item.Id;
                    if (filter.Admits(item) && client.Wants(item)) body.Write(item.Frame.Span);
                }
                await body.FlushAsync(cancellationToken);
                if (page.Length < ReplayPage) return after;
            }
        }

        public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
            builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(string), ["text/event-stream"]));
    }
}
