using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Options;

namespace TradingBots.Binance;

/// <summary>
/// A small typed client for Binance's public Spot REST API (the part ccxt's load_markets, fetch_tickers, fetch_ohlcv and
/// fetch_order_book use).
/// One long-lived, thread-safe instance: one HttpClient, a per-call timeout on top of the caller's cancellation,
/// every failure turned into a <see cref="BinanceException"/> of a known kind, and after a rate limit no call of any
/// kind until its Retry-After has passed.
/// </summary>
public sealed class BinanceClient(HttpClient http, IOptions<BinanceOptions> options, TimeProvider time)
{
    /// <summary>Binance's kline intervals.</summary>
    public static readonly IReadOnlySet<string> Intervals = new HashSet<string>(StringComparer.Ordinal)
    {
        "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
    };

    private readonly SemaphoreSlim _symbolsGate = new(1, 1);
    private SymbolMap? _symbols;
    private DateTimeOffset _symbolsExpire;
    private long _rateLimitedUntil; // UTC ticks; no call at all before then (Binance bans IPs that ignore Retry-After)

    public Uri BaseAddress => new(options.Value.BaseUrl);

    /// <summary>The unified ↔ exchange symbol map from /api/v3/exchangeInfo, loaded once and reloaded after <see cref="BinanceOptions.SymbolsRefresh"/>.</summary>
    public async Task<SymbolMap> GetSymbolsAsync(CancellationToken cancellationToken)
    {
        if (_symbols is { } fresh && time.GetUtcNow() < _symbolsExpire) return fresh;
        await _symbolsGate.WaitAsync(cancellationToken);
        try
        {
            if (_symbols is { } loaded && time.GetUtcNow() < _symbolsExpire) return loaded;
            try
            {
                var info = await GetAsync("/api/v3/exchangeInfo", BinanceJson.Default.BinanceExchangeInfo, cancellationToken);
                _symbols = new SymbolMap(info.Symbols);
                _symbolsExpire = time.GetUtcNow() + options.Value.SymbolsRefresh;
                return _symbols;
            }
            catch (BinanceException) when (_symbols is { } stale)
            {
                // A failed refresh keeps the list we have (listings change rarely) and tries again in a minute,
                // rather than making every request wait for, and pay the weight of, another attempt.
                _symbolsExpire = time.GetUtcNow() + TimeSpan.FromMinutes(1);
                return stale;
            }
        }
        finally
        {
            _symbolsGate.Release();
        }
    }

    /// <summary>24 h tickers for the given exchange symbols, in one call (<c>?symbols=["BTCUSDT","ETHUSDT"]</c>).</summary>
    public Task<List<BinanceTicker24h>> GetTickers24hAsync(IReadOnlyCollection<string> exchangeSymbols, CancellationToken cancellationToken)
    {
        var symbols = JsonSerializer.Serialize(exchangeSymbols, BinanceJsonArray.Default.IReadOnlyCollectionString);
        return GetAsync($"/api/v3/ticker/24hr?symbols={Uri.EscapeDataString(symbols)}", BinanceJson.Default.ListBinanceTicker24h,
            cancellationToken);
    }

    /// <summary>
    /// Klines, oldest first, as Binance returns them: the latest <paramref name="limit"/>, or with
    /// <paramref name="startTime"/> (Unix ms) the first <paramref name="limit"/> opening at or after it.
    /// </summary>
    public async Task<IReadOnlyList<Candle>> GetKlinesAsync(string exchangeSymbol, string interval, int limit, CancellationToken cancellationToken,
        long? startTime = null)
    {
        var start = startTime is { } ms ? $"&startTime={ms.ToString(CultureInfo.InvariantCulture)}" : "";
        var rows = await GetAsync(
            $"/api/v3/klines?symbol={Uri.EscapeDataString(exchangeSymbol)}&interval={Uri.EscapeDataString(interval)}{start}&limit={limit}",
            BinanceJson.Default.ListListJsonElement, cancellationToken);
        try
        {
            return [.. rows.Select(row => new Candle(row[0].GetInt64(), Decimal(row[1]), Decimal(row[2]), Decimal(row[3]), Decimal(row[4]), Decimal(row[5])))];
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or OverflowException or IndexOutOfRangeException)
        {
            throw new BinanceException(BinanceErrorKind.Malformed, $"malformed kline from {BaseAddress.Host}: {ex.Message}", inner: ex);
        }
    }

    /// <summary>
    /// The symbol's order book (<c>/api/v3/depth</c>): at most <paramref name="limit"/> levels a side, bids best
    /// (highest) first, asks best (lowest) first. Binance takes 1 to 5000 (a larger limit is served as 5000) and
    /// weighs the call by it: up to 100 levels 5, 500 25, 1000 50, 5000 250.
    /// </summary>
    public async Task<BinanceOrderBook> GetOrderBookAsync(string exchangeSymbol, int limit, CancellationToken cancellationToken)
    {
        var depth = await GetAsync(
            $"/api/v3/depth?symbol={Uri.EscapeDataString(exchangeSymbol)}&limit={limit.ToString(CultureInfo.InvariantCulture)}",
            BinanceJson.Default.BinanceDepth, cancellationToken);
        try
        {
            if (depth is not { LastUpdateId: { } id, Bids: { } bids, Asks: { } asks })
                throw new FormatException("lastUpdateId, bids and asks are required");
            return new BinanceOrderBook(id, [.. bids.Select(Level)], [.. asks.Select(Level)]);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or OverflowException)
        {
            throw new BinanceException(BinanceErrorKind.Malformed, $"malformed order book from {BaseAddress.Host}: {ex.Message}", inner: ex);
        }

        static BookLevel Level(List<JsonElement>? level) => level is [var price, var qty, ..]
            ? new BookLevel(Decimal(price), Decimal(qty))
            : throw new FormatException("a level is not a [price, qty] pair");
    }

    public Task PingAsync(CancellationToken cancellationToken) =>
        GetAsync("/api/v3/ping", BinanceJson.Default.JsonElement, cancellationToken);

    private static decimal Decimal(JsonElement value) => decimal.Parse(value.GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture);

    private async Task<T> GetAsync<T>(string pathAndQuery, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        var wait = new DateTimeOffset(Interlocked.Read(ref _rateLimitedUntil), TimeSpan.Zero) - time.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            throw new BinanceException(BinanceErrorKind.RateLimited, $"rate limited by the exchange for {wait.TotalSeconds:0.#} s more", retryAfter: wait);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.RequestTimeout);
        var path = pathAndQuery.Split('?')[0];
        try
        {
            using var response = await http.GetAsync(new Uri(BaseAddress, pathAndQuery), HttpCompletionOption.ResponseContentRead, timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                var failure = Failure(response, body, path);
                if (failure.RetryAfter is { } retryAfter) Interlocked.Exchange(ref _rateLimitedUntil, (time.GetUtcNow() + retryAfter).UtcTicks);
                throw failure;
            }
            return JsonSerializer.Deserialize(body, type)
                ?? throw new BinanceException(BinanceErrorKind.Malformed, $"empty body from {path}");
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new BinanceException(BinanceErrorKind.Timeout,
                $"{path} did not answer within {options.Value.RequestTimeout.TotalSeconds:0.###} s", inner: ex);
        }
        catch (HttpRequestException ex)
        {
            throw new BinanceException(BinanceErrorKind.Network, $"{path}: {ex.Message}", inner: ex);
        }
        catch (JsonException ex)
        {
            throw new BinanceException(BinanceErrorKind.Malformed, $"{path} answered malformed JSON: {ex.Message}", inner: ex);
        }
    }

    private static BinanceException Failure(HttpResponseMessage response, string body, string path)
    {
        var status = (int)response.StatusCode;
        BinanceError? error = null;
        try { error = JsonSerializer.Deserialize(body, BinanceJson.Default.BinanceError); }
        catch (JsonException) { }
        var what = error is null ? $"{path}: HTTP {status}" : $"{path}: HTTP {status}, {error.Code} {error.Msg}";

        if (response.StatusCode is HttpStatusCode.TooManyRequests || status == 418)
        {
            return new BinanceException(BinanceErrorKind.RateLimited, what, error?.Code, RetryAfter(response));
        }
        if (status >= 500)
        {
            return new BinanceException(BinanceErrorKind.ExchangeError, what, error?.Code);
        }
        return error?.Code switch
        {
            -1121 => new BinanceException(BinanceErrorKind.UnknownSymbol, what, error.Code),
            -1120 => new BinanceException(BinanceErrorKind.BadInterval, what, error.Code),
            _ => new BinanceException(BinanceErrorKind.BadRequest, what, error?.Code),
        };
    }

    /// <summary>Binance sends Retry-After in seconds; without one, a minute (its rate-limit window).</summary>
    private static TimeSpan RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter?.Delta
        ?? (response.Headers.RetryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : (TimeSpan?)null)
        ?? TimeSpan.FromMinutes(1);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyCollection<string>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(JsonElement))]
internal sealed partial class BinanceJsonArray : System.Text.Json.Serialization.JsonSerializerContext;
