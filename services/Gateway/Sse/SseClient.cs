using System.Threading.Channels;
using TradingBots.Data;
using TradingBots.Events;

namespace TradingBots.Gateway.Sse;

/// <summary>
/// What a client asked for. <see cref="BotId"/>: that bot's events only (the job's bot when only a job is given).
/// <see cref="JobId"/>: the job's own events (bot.state, job.progress carry its id), and its bot's other events (trades,
/// snapshots) while the job runs. A system.notice reaches every client.
/// </summary>
public sealed record SseFilter(long? BotId, long? JobId)
{
    public static readonly SseFilter None = new(null, null);

    /// <summary>The hub's test, the same for every client of a bot: cheap, and stateless.</summary>
    public bool Admits(SseItem item) => BotId is not { } bot || item.BotId == bot || item.Type == EventTypes.SystemNotice;
}

/// <summary>
/// One connected client: a bounded buffer the hub fills without ever waiting (full: the client is too slow, and is
/// disconnected; it resumes with Last-Event-ID), read by the client's own request.
/// </summary>
public sealed class SseClient
{
    private readonly Channel<SseItem> _buffer;
    private readonly Action _disconnect;
    private bool _jobActive;

    public SseClient(SseFilter filter, int capacity, bool jobActive, Action disconnect)
    {
        Filter = filter;
        _jobActive = jobActive;
        _disconnect = disconnect;
        _buffer = Channel.CreateBounded<SseItem>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    public SseFilter Filter { get; }

    private bool _overflowed;

    public ChannelReader<SseItem> Reader => _buffer.Reader;

    /// <summary>From the hub: never waits. A full buffer ends the client (its request sees the overflow and the connection is aborted).</summary>
    public void Offer(SseItem item)
    {
        if (_buffer.Writer.TryWrite(item) || _overflowed) return;
        _overflowed = true;
        _buffer.Writer.TryComplete();
        _disconnect();
    }

    /// <summary>
    /// The client's own test, on its reading side in log order (live and replayed events alike): with a job filter, the
    /// job's bot's events count while the job is active, which its bot.state and job.progress events tell.
    /// </summary>
    public bool Wants(SseItem item)
    {
        if (Filter.JobId is not { } job || item.Type == EventTypes.SystemNotice) return true;
        if (item.Type is EventTypes.BotState or EventTypes.JobProgress)
        {
            // These say which job the bot runs, if any (a bot.state without one: none).
            _jobActive = item.JobId == job && item.Status is not (JobStatus.Completed or JobStatus.Failed or JobStatus.Cancelled
                or BotStatus.Stopped or BotStatus.Error);
            return item.JobId == job;
        }
        // A job without a bot (a backtest) has only its own events.
        return _jobActive && Filter.BotId is not null;
    }

    public void Complete() => _buffer.Writer.TryComplete();
}
