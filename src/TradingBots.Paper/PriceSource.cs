using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;

namespace TradingBots.Paper;

/// <summary>Why a live price could not be had; the API turns it into a 400, 502 or 503.</summary>
public sealed class PriceException(HttpStatusCode status, string message, string? retryAfter = null, bool unreachable = false) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
    public string? RetryAfter { get; } = retryAfter;

    /// <summary>The Market service itself did not answer (else it answered this error, and said so on the event channel).</summary>
    public bool Unreachable { get; } = unreachable;
}

/// <summary>
/// Live prices from the Market service (GET /market/tickers: Binance's 24 h ticker, cached and coalesced there; its order
/// book and exchange rules for the fill models that need them), so the paper engine, the API and the Worker all price
/// from one place. Concurrent asks for one symbol share the call in flight: the answer is as fresh, and a burst of orders
/// costs the market one request.
/// </summary>
public sealed class PriceSource(IHttpClientFactory http, TimeProvider time)
{
    public const string MarketClient = "market";

    private readonly ConcurrentDictionary<string, Task<Quote>> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (ExchangeRules Rules, long At)> _rules = new(StringComparer.Ordinal);

    /// <summary>How long a symbol's exchange rules are kept: exchanges change their filters rarely, and announce it.</summary>
    public static readonly TimeSpan RulesFor = TimeSpan.FromMinutes(5);

    /// <summary>Book levels asked for first; a walk they cannot fill asks again for <see cref="MaxBookLevels"/> (Binance's limit).</summary>
    public const int BookLevels = 100, MaxBookLevels = 5000;

    public async Task<decimal> GetPriceAsync(string symbol, CancellationToken cancellationToken) => (await GetQuoteAsync(symbol, cancellationToken)).Last;

    /// <summary>The symbol's last price, best bid and best ask, from one ticker.</summary>
    public Task<Quote> GetQuoteAsync(string symbol, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_inFlight.TryGetValue(symbol, out var running)) return running.WaitAsync(cancellationToken);
            // Registered before the call starts, so a call that ends at once cannot leave a finished (stale) entry behind.
            var call = new TaskCompletionSource<Quote>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_inFlight.TryAdd(symbol, call.Task)) continue;
            _ = FetchOneAsync(symbol, call);
            return call.Task.WaitAsync(cancellationToken);
        }
    }

    private async Task FetchOneAsync(string symbol, TaskCompletionSource<Quote> call)
    {
        try
        {
            // Not a caller's token: others may be waiting on this call. The client's timeout bounds it.
            call.SetResult((await GetChunkAsync([symbol], CancellationToken.None)).Single().Quote);
        }
        catch (Exception ex)
        {
            call.SetException(ex);
        }
        finally
        {
            _inFlight.TryRemove(KeyValuePair.Create(symbol, call.Task));
        }
    }

    /// <summary>
    /// Tickers (last, bid, ask) of the given symbols (in requests of at most <see cref="MaxSymbolsPerCall"/>, the market's limit), and
    /// which of them the exchange does not list (any more: Binance delists pairs). Other failures throw.
    /// </summary>
    public async Task<(IReadOnlyDictionary<string, Quote> Quotes, IReadOnlyList<string> Unlisted)> GetListedQuotesAsync(
        IReadOnlyCollection<string> symbols, CancellationToken cancellationToken)
    {
        var prices = new Dictionary<string, Quote>(symbols.Count);
        var unlisted = new List<string>();
        foreach (var chunk in symbols.Chunk(MaxSymbolsPerCall))
        {
            try
            {
                foreach (var (symbol, quote) in await GetChunkAsync(chunk, cancellationToken)) prices[symbol] = quote;
            }
            catch (PriceException ex) when (ex.Status == HttpStatusCode.BadRequest)
            {
                // The market refuses the whole request for one unknown symbol: ask one by one to learn which (rare).
                foreach (var symbol in chunk)
                {
                    try
                    {
                        foreach (var (one, quote) in await GetChunkAsync([symbol], cancellationToken)) prices[one] = quote;
                    }
                    catch (PriceException single) when (single.Status == HttpStatusCode.BadRequest)
                    {
                        unlisted.Add(symbol);
                    }
                }
            }
        }
        return (prices, unlisted);
    }

    private const int MaxSymbolsPerCall = 20;

    private Task<List<(string Symbol, Quote Quote)>> GetChunkAsync(string[] symbols, CancellationToken cancellationToken) =>
        GetMarketAsync($"/market/tickers?symbols={Uri.EscapeDataString(string.Join(',', symbols))}", tickers =>
            symbols.Select(s => (s, QuoteOf(tickers.GetProperty(s)))).ToList(), cancellationToken);

    private static Quote QuoteOf(JsonElement ticker) =>
        new(ticker.GetProperty("last").GetDecimal(), ticker.GetProperty("bid").GetDecimal(), ticker.GetProperty("ask").GetDecimal());

    /// <summary>
    /// The symbol's order book, at least <paramref name="levels"/> deep on each side where the exchange has them
    /// (GET /market/orderbook: ccxt's unified book, each level [price, amount]).
    /// </summary>
    public Task<OrderBook> GetOrderBookAsync(string symbol, int levels, CancellationToken cancellationToken) =>
        GetMarketAsync($"/market/orderbook?symbol={Uri.EscapeDataString(symbol)}&limit={levels}", book =>
            new OrderBook(Levels(book.GetProperty("bids")), Levels(book.GetProperty("asks"))), cancellationToken);

    private static BookLevel[] Levels(JsonElement side) => [.. side.EnumerateArray().Select(l => new BookLevel(l[0].GetDecimal(), l[1].GetDecimal()))];

    /// <summary>
    /// The exchange's filters for market orders of the symbol (GET /market/markets: ccxt's market structure), kept for
    /// <see cref="RulesFor"/>. LOT_SIZE and MARKET_LOT_SIZE both bound a market order's quantity: the narrower of each limit
    /// holds; the notional limits hold where the exchange applies them to market orders.
    /// </summary>
    public async Task<ExchangeRules> GetRulesAsync(string symbol, CancellationToken cancellationToken)
    {
        if (_rules.TryGetValue(symbol, out var kept) && time.GetElapsedTime(kept.At) < RulesFor) return kept.Rules;
        var rules = await GetMarketAsync($"/market/markets?symbols={Uri.EscapeDataString(symbol)}", markets =>
        {
            var market = markets.GetProperty(symbol);
            var (precision, limits) = (market.GetProperty("precision"), market.GetProperty("limits"));
            decimal? Number(JsonElement parent, string name) =>
                parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDecimal() : null;
            decimal? Limit(string kind, string bound) =>
                limits.TryGetProperty(kind, out var range) && range.ValueKind == JsonValueKind.Object ? Number(range, bound) : null;
            bool Applies(string flag) => market.TryGetProperty(flag, out var value) && value.ValueKind == JsonValueKind.True;
            // A maximum of 0 is Binance's "no maximum".
            static decimal? Narrower(decimal? a, decimal? b, Func<decimal, decimal, decimal> pick) =>
                (a is > 0 ? a : null, b is > 0 ? b : null) switch { ({ } x, { } y) => pick(x, y), (var x, var y) => x ?? y };
            return new ExchangeRules(Number(precision, "price"), Number(precision, "amount"),
                Narrower(Limit("amount", "min"), Limit("market", "min"), Math.Max), Narrower(Limit("amount", "max"), Limit("market", "max"), Math.Min),
                Applies("min_notional_applies_to_market") ? Limit("cost", "min") : null,
                Applies("max_notional_applies_to_market") ? Limit("cost", "max") : null);
        }, cancellationToken);
        _rules[symbol] = (rules, time.GetTimestamp());
        return rules;
    }

    /// <summary>One GET of the Market service, its JSON read by <paramref name="read"/>; every failure a <see cref="PriceException"/>.</summary>
    private async Task<T> GetMarketAsync<T>(string pathAndQuery, Func<JsonElement, T> read, CancellationToken cancellationToken)
    {
        using var market = http.CreateClient(MarketClient);
        try
        {
            using var response = await market.GetAsync(pathAndQuery, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new PriceException(response.StatusCode, Detail(body) ?? $"market answered {(int)response.StatusCode}",
                    response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            using var document = JsonDocument.Parse(body);
            return read(document.RootElement);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException
            || ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // The market is down, timed out or answered something else than tickers: a bad gateway for the caller.
            throw new PriceException(HttpStatusCode.BadGateway, $"market unavailable: {ex.Message}", unreachable: ex is HttpRequestException or OperationCanceledException);
        }
    }

    private static string? Detail(string body)
    {
        try
        {
            using var problem = JsonDocument.Parse(body);
            return problem.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
