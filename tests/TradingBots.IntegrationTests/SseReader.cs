using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>One frame of an event stream as a client parses it (the HTML standard's rules): its fields, or a comment.</summary>
public sealed record SseFrame(string? Id, string? Event, string? Data, string? Comment, string? Retry)
{
    public JsonElement Json => Data is null ? default : JsonDocument.Parse(Data).RootElement;

    public long? BotId => Data is not null && Json.TryGetProperty("bot_id", out var b) && b.ValueKind == JsonValueKind.Number ? b.GetInt64() : null;

    public (long Ms, long Seq) LogId
    {
        get
        {
            if (Id is null) return default;
            var parts = Id.Split('-');
            return (long.Parse(parts[0]), long.Parse(parts[1]));
        }
    }
}

/// <summary>
/// A real HTTP client reading GET /sse through the gateway, frame by frame as they arrive, each kept with its arrival
/// time. Disposing it closes the connection.
/// </summary>
public sealed class SseReader : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<(SseFrame Frame, DateTime At)> _frames = new();
    private readonly Task _reading;

    private SseReader(HttpClient http, HttpResponseMessage response)
    {
        _http = http;
        Response = response;
        _reading = ReadAsync(response);
    }

    public HttpResponseMessage Response { get; }

    /// <summary>Set when the server ended the stream (or the connection broke).</summary>
    public bool Ended => _reading.IsCompleted;

    public static async Task<SseReader> OpenAsync(string gatewayUrl, string pathAndQuery, string? lastEventId = null, string? accept = null)
    {
        var http = new HttpClient { BaseAddress = new Uri(gatewayUrl), Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        if (accept is not null) request.Headers.Add("Accept", accept);
        using var headers = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headers.Token);
        return new SseReader(http, response);
    }

    /// <summary>The response of a request that is not expected to stream (a refusal): status and body.</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> RefusedAsync(string gatewayUrl, string pathAndQuery,
        string? lastEventId = null)
    {
        using var http = new HttpClient { BaseAddress = new Uri(gatewayUrl), Timeout = TimeSpan.FromSeconds(5) };
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await http.SendAsync(request);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement, response);
    }

    public IReadOnlyList<SseFrame> Frames => [.. _frames.Select(f => f.Frame)];

    /// <summary>The frames that are events (not comments), in arrival order.</summary>
    public IReadOnlyList<SseFrame> Events => [.. _frames.Select(f => f.Frame).Where(f => f.Event is not null)];

    public DateTime ArrivalOf(SseFrame frame) => _frames.First(f => ReferenceEquals(f.Frame, frame)).At;

    /// <summary>Waits until the server ends the stream or the connection breaks.</summary>
    public async Task WaitForEndAsync(double seconds = 10) => await _reading.WaitAsync(TimeSpan.FromSeconds(seconds));

    public async Task<IReadOnlyList<SseFrame>> WaitForAsync(Func<SseFrame, bool> match, int count = 1, double seconds = 10)
    {
        try
        {
            return await Eventually.UntilAsync(() =>
            {
                var found = _frames.Select(f => f.Frame).Where(match).ToList();
                return Task.FromResult(found.Count >= count ? found : null);
            }, $"{count} expected frames", TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(20));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{_frames.Select(f => f.Frame).Count(match)} of {count} expected frames after {seconds} s; got: "
                + string.Join(" | ", _frames.Select(f => f.Frame).TakeLast(20)));
        }
    }

    private async Task ReadAsync(HttpResponseMessage response)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(_stop.Token);
            using var lines = new StreamReader(stream, Encoding.UTF8);
            string? id = null, type = null, retry = null, comment = null;
            var data = new List<string>();
            while (await lines.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.Length == 0)
                {
                    if (id is not null || type is not null || data.Count > 0 || comment is not null || retry is not null)
                        _frames.Enqueue((new SseFrame(id, type, data.Count > 0 ? string.Join("\n", data) : null, comment, retry), DateTime.UtcNow));
                    (id, type, retry, comment) = (null, null, null, null);
                    data.Clear();
                    continue;
                }
                if (line[0] == ':')
                {
                    comment = comment is null ? line[1..].TrimStart() : comment + "\n" + line[1..].TrimStart();
                    continue;
                }
                var colon = line.IndexOf(':');
                var (field, value) = colon < 0 ? (line, "") : (line[..colon], line[(colon + 1)..]);
                if (value.StartsWith(' ')) value = value[1..];
                switch (field)
                {
                    case "id": id = value; break;
                    case "event": type = value; break;
                    case "data": data.Add(value); break;
                    case "retry": retry = value; break;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        Response.Dispose();
        try { await _reading; } catch { /* closed */ }
        _http.Dispose();
        _stop.Dispose();
    }
}
