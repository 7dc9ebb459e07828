using Microsoft.Extensions.Options;
using TradingBots.Binance;

namespace TradingBots.Market;

/// <summary>
/// The live-price source of the whole system: 24 h tickers kept for <see cref="MarketOptions.TickerCacheWindow"/>,
/// with request coalescing. At most one upstream call is in flight; requests for symbols it covers wait for it,
/// the others are gathered into the next call, which also refreshes every symbol asked for recently. So any
/// number of concurrent requests over overlapping symbols cost about one upstream call per cache window.
/// A failure is remembered for the window too (and a rate limit until its Retry-After), so an outage does not
/// turn every request into an upstream call.
/// </summary>
public sealed class TickerCache(BinanceClient binance, IOptions<MarketOptions> options, TimeProvider time)
{
    private static readonly TimeSpan HotFor = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, (BinanceTicker24h Ticker, long At)> _tickers = [];
    private readonly Dictionary<string, long> _askedAt = [];
    private Batch? _inFlight;
    private Batch? _next;
    private (BinanceException Error, DateTimeOffset Until)? _failure;

    private sealed class Batch
    {
        public HashSet<string> Symbols { get; } = [];
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Tickers for the given exchange symbols (all known to exist), fresh within the cache window.</summary>
    public async Task<IReadOnlyList<BinanceTicker24h>> GetAsync(IReadOnlyList<string> symbols, CancellationToken cancellationToken)
    {
        Task wait;
        lock (_lock)
        {
            var now = time.GetTimestamp();
            foreach (var symbol in symbols) _askedAt[symbol] = now;
            if (TryGetFresh(symbols, out var cached)) return cached;
            if (_failure is { } failure && time.GetUtcNow() < failure.Until) throw failure.Error;

            if (_inFlight is not null && _inFlight.Symbols.IsSupersetOf(symbols))
            {
                wait = _inFlight.Done.Task;
            }
            else
            {
                _next ??= new Batch();
                _next.Symbols.UnionWith(symbols);
                wait = _next.Done.Task;
                if (_inFlight is null) StartNext();
            }
        }

        await wait.WaitAsync(cancellationToken);
        lock (_lock)
        {
            return symbols.Select(s => _tickers[s].Ticker).ToList();
        }
    }

    private bool TryGetFresh(IReadOnlyList<string> symbols, out IReadOnlyList<BinanceTicker24h> tickers)
    {
        var fresh = new List<BinanceTicker24h>(symbols.Count);
        foreach (var symbol in symbols)
        {
            if (!_tickers.TryGetValue(symbol, out var entry) || time.GetElapsedTime(entry.At) >= options.Value.TickerCacheWindow)
            {
                tickers = [];
                return false;
            }
            fresh.Add(entry.Ticker);
        }
        tickers = fresh;
        return true;
    }

    /// <summary>Under the lock: the gathered batch becomes the call in flight, topped up with recently asked symbols.</summary>
    private void StartNext()
    {
        var batch = _next!;
        _next = null;
        _inFlight = batch;
        foreach (var (symbol, at) in _askedAt.OrderByDescending(a => a.Value).ToList())
        {
            if (time.GetElapsedTime(at) > HotFor) _askedAt.Remove(symbol);
            else if (batch.Symbols.Count < options.Value.MaxSymbols) batch.Symbols.Add(symbol);
        }
        _ = FetchAsync(batch);
    }

    private async Task FetchAsync(Batch batch)
    {
        try
        {
            var tickers = await binance.GetTickers24hAsync(batch.Symbols, CancellationToken.None);
            lock (_lock)
            {
                var now = time.GetTimestamp();
                // A symbol the exchange did not return must not be served from an older answer: fail its waiters.
                var missing = batch.Symbols.Except(tickers.Select(t => t?.Symbol)).ToList();
                if (missing.Count > 0) throw new BinanceException(BinanceErrorKind.Malformed, $"no ticker returned for {string.Join(", ", missing)}");
                foreach (var ticker in tickers) _tickers[ticker.Symbol] = (ticker, now);
                _failure = null;
            }
            batch.Done.SetResult();
        }
        catch (Exception exception)
        {
            // Every failure reaches the waiters (none may hang); anything unexpected counts as a malformed answer.
            var ex = exception as BinanceException ?? new BinanceException(BinanceErrorKind.Malformed, exception.Message, inner: exception);
            lock (_lock)
            {
                var holdOff = ex.RetryAfter ?? options.Value.TickerCacheWindow;
                _failure = (ex, time.GetUtcNow() + holdOff);
                // Forget the recently asked symbols: if one of them made the call fail, it must not take the others down with it.
                _askedAt.Clear();
            }
            batch.Done.TrySetException(ex);
        }
        finally
        {
            lock (_lock)
            {
                _inFlight = null;
                if (_next is not null && _failure is { } failure && time.GetUtcNow() < failure.Until)
                {
                    // Still holding off (a rate limit's Retry-After): the gathered requests fail too, without a call.
                    _next.Done.TrySetException(failure.Error);
                    _next = null;
                }
                else if (_next is not null)
                {
                    StartNext();
                }
            }
        }
    }
}
