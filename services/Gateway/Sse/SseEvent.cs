using System.Globalization;
using System.Text;
using System.Text.Json;
using TradingBots.Events;

namespace TradingBots.Gateway.Sse;

/// <summary>
/// An event's id in the retained log (<see cref="EventChannel.Log"/>): Redis's stream id, milliseconds-sequence, compared
/// as the pair of numbers. It is the SSE frame's <c>id:</c>, so the Last-Event-ID a client resumes with.
/// </summary>
public readonly record struct LogId(ulong Milliseconds, ulong Sequence) : IComparable<LogId>
{
    public static bool TryParse(string? text, out LogId id)
    {
        id = default;
        var dash = text?.IndexOf('-') ?? -1;
        if (dash <= 0) return false;
        if (!ulong.TryParse(text.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            || !ulong.TryParse(text.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)) return false;
        id = new LogId(ms, seq);
        return true;
    }

    public int CompareTo(LogId other) => (Milliseconds, Sequence).CompareTo((other.Milliseconds, other.Sequence));

    public static bool operator <=(LogId a, LogId b) => a.CompareTo(b) <= 0;

    public static bool operator >=(LogId a, LogId b) => a.CompareTo(b) >= 0;

    public static bool operator <(LogId a, LogId b) => a.CompareTo(b) < 0;

    public static bool operator >(LogId a, LogId b) => a.CompareTo(b) > 0;

    public override string ToString() => $"{Milliseconds}-{Sequence}";
}

public enum SseItemKind
{
    Event,
    /// <summary>Time for a comment that keeps the connection open.</summary>
    Heartbeat,
    /// <summary>The gateway's subscription to Redis dropped: events may have been missed since.</summary>
    Gap,
    /// <summary>The subscription is back: read what was missed from the log.</summary>
    Restored,
}

/// <summary>
/// What a client's buffer holds: an event parsed once for every client (its filter fields and its SSE frame, ready to
/// write), or a marker from the hub.
/// </summary>
public sealed record SseItem(SseItemKind Kind, LogId Id, string Type, long? BotId, long? JobId, string? Status, ReadOnlyMemory<byte> Frame)
{
    public static readonly SseItem Heartbeat = new(SseItemKind.Heartbeat, default, "", null, null, null, Encoding.UTF8.GetBytes(": heartbeat\n\n"));
    public static readonly SseItem Gap = new(SseItemKind.Gap, default, "", null, null, null, default);
    public static readonly SseItem Restored = new(SseItemKind.Restored, default, "", null, null, null, default);

    /// <summary>
    /// An envelope as published (<see cref="EventPublisher.Envelope"/>) as its frame: <c>id:</c> the log's id,
    /// <c>event:</c> the spec's type, <c>data:</c> the spec's payload, byte for byte as published. Null when it is not one.
    /// </summary>
    public static SseItem? Parse(string envelope)
    {
        try
        {
            using var json = JsonDocument.Parse(envelope);
            var root = json.RootElement;
            if (!LogId.TryParse(root.GetProperty("id").GetString(), out var id)) return null;
            var type = root.GetProperty("type").GetString()!;
            var data = root.GetProperty("data");
            return new SseItem(SseItemKind.Event, id, type, Number(data, "bot_id"), Number(data, "job_id"),
                data.TryGetProperty("status", out var status) ? status.GetString() : null,
                Encoding.UTF8.GetBytes($"id: {id}\nevent: {type}\ndata: {data.GetRawText()}\n\n"));
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>An event the gateway says itself (no id: a client's Last-Event-ID stays that of the last real event).</summary>
    public static ReadOnlyMemory<byte> NoticeFrame(string message, DateTimeOffset ts) =>
        Encoding.UTF8.GetBytes($"event: {EventTypes.SystemNotice}\ndata: {Outbox.Payload(new SystemNotice(message, ts))}\n\n");

    private static long? Number(JsonElement data, string name) =>
        data.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;
}
