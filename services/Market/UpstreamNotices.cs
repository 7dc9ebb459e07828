using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using TradingBots.Binance;
using TradingBots.Events;

namespace TradingBots.Market;

/// <summary>
/// Turns upstream failures into <c>system.notice</c> events, at most one per kind of failure per
/// <see cref="MarketOptions.NoticeInterval"/> (per call kind: ticker, OHLCV, order book or markets), so an exchange outage informs without flooding the channel.
/// </summary>
public sealed class UpstreamNotices(EventPublisher events, IOptions<MarketOptions> options, TimeProvider time, ILogger<UpstreamNotices> logger)
{
    private readonly ConcurrentDictionary<(string, BinanceErrorKind), long> _lastSent = new();

    public async Task ReportAsync(BinanceException error, string what = "Ticker")
    {
        var now = time.GetTimestamp();
        var last = _lastSent.GetOrAdd((what, error.Kind), 0);
        if (last != 0 && time.GetElapsedTime(last, now) < options.Value.NoticeInterval) return;
        if (!_lastSent.TryUpdate((what, error.Kind), now, last)) return;
        // Logged as often as noticed: an outage that fails every request must not flood the log either.
        logger.LogWarning("{What} fetch error ({Kind}): {Message}", what, error.Kind, error.Message);
        try
        {
            await events.PublishAsync(EventTypes.SystemNotice, new SystemNotice($"{what} fetch error: {error.Message}", time.GetUtcNow()));
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            // The notice is best effort: Redis being down must not turn a market error into a different one.
            logger.LogWarning("Could not publish the system.notice: {Message}", ex.Message);
        }
    }
}
