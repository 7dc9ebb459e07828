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
/// Live last prices from the Market service (GET /market/tickers: Binance's 24 h ticker, cached and coalesced
/// there), so the paper engine, the API and the Worker all price from one place. Concurrent asks for one symbol
/// share the call in flight: the answer is as fresh, and a burst of orders costs the market one request.
/// </summary>
public sealed class PriceSource(IHttpClientFactory http)
{
    public const string MarketClient = "market";

    private readonly ConcurrentDictionary<string, Task<decimal>> _inFlight = new(StringComparer.Ordinal);

    public Task<decimal> GetPriceAsync(string symbol, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_inFlight.TryGetValue(symbol, out var running)) return running.WaitAsync(cancellationToken);
            // Registered before the call starts, so a call that ends at once cannot leave a finished (stale) entry behind.
            var call = new TaskCompletionSource<decimal>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_inFlight.TryAdd(symbol, call.Task)) continue;
            _ = FetchOneAsync(symbol, call);
            return call.Task.WaitAsync(cancellationToken);
        }
    }

    private async Task FetchOneAsync(string symbol, TaskCompletionSource<decimal> call)
    {
        try
        {
            // Not a caller's token: others may be waiting on this call. The client's timeout bounds it.
            call.SetResult((await GetChunkAsync([symbol], CancellationToken.None)).Single().Item2);
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
    /// Last prices of the given symbols (in requests of at most <see cref="MaxSymbolsPerCall"/>, the market's limit), and
    /// which of them the exchange does not list (any more: Binance delists pairs). Other failures throw.
    /// </summary>
    public async Task<(IReadOnlyDictionary<string, decimal> Prices, IReadOnlyList<string> Unlisted)> GetListedPricesAsync(
        IReadOnlyCollection<string> symbols, CancellationToken cancellationToken)
    {
        var prices = new Dictionary<string, decimal>(symbols.Count);
        var unlisted = new List<string>();
        foreach (var chunk in symbols.Chunk(MaxSymbolsPerCall))
        {
            try
            {
                foreach (var (symbol, price) in await GetChunkAsync(chunk, cancellationToken)) prices[symbol] = price;
            }
            catch (PriceException ex) when (ex.Status == HttpStatusCode.BadRequest)
            {
                // The market refuses the whole request for one unknown symbol: ask one by one to learn which (rare).
                foreach (var symbol in chunk)
                {
                    try
                    {
                        foreach (var (one, price) in await GetChunkAsync([symbol], cancellationToken)) prices[one] = price;
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

    private async Task<IEnumerable<(string, decimal)>> GetChunkAsync(string[] symbols, CancellationToken cancellationToken)
    {
        using var market = http.CreateClient(MarketClient);
        try
        {
            using var response = await market.GetAsync($"/market/tickers?symbols={Uri.EscapeDataString(string.Join(',', symbols))}", cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new PriceException(response.StatusCode, Detail(body) ?? $"market answered {(int)response.StatusCode}",
                    response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            using var tickers = JsonDocument.Parse(body);
            return [.. symbols.Select(s => (s, tickers.RootElement.GetProperty(s).GetProperty("last").GetDecimal()))];
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
