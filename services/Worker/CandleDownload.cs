using System.Globalization;
using System.Text.Json;
using Npgsql;
using TradingBots.Backtests;
using TradingBots.Paper;
using TradingBots.Strategies;

namespace TradingBots.Worker;

/// <summary>
/// Fetches the candles of a range that are not stored yet from the Market service (GET /market/ohlcv, 1,000 a page,
/// <c>since</c> the last open + 1 ms) and stores them: a range stored once costs the exchange nothing the next time.
/// Only candles that closed by the range's end are kept (it is never in the future), so nothing open is ever stored.
/// </summary>
public sealed class CandleDownload(IHttpClientFactory http)
{
    public const int PageSize = 1000;

    /// <summary>Fetches what is missing for each symbol; <paramref name="progress"/> is told (fetched, missing) after each page.</summary>
    /// <returns>The candles fetched from the exchange.</returns>
    public async Task<int> EnsureAsync(NpgsqlConnection connection, IReadOnlyList<string> symbols, string timeframe, long from, long to,
        Func<int, int, Task> progress, CancellationToken cancellationToken)
    {
        var step = Timeframes.Milliseconds(timeframe)!.Value;
        var missing = new List<(string Symbol, long First, long Last)>();
        foreach (var symbol in symbols)
            foreach (var (first, last) in await CandleStore.MissingAsync(connection, symbol, timeframe, from, to, cancellationToken))
                missing.Add((symbol, first, last));
        var total = (int)missing.Sum(m => (m.Last - m.First) / step + 1);
        var fetched = 0;
        foreach (var (symbol, first, last) in missing)
        {
            var since = first;
            while (since <= last)
            {
                var page = await PageAsync(symbol, timeframe, since, cancellationToken);
                var wanted = page.Where(c => c.OpenTime >= first && c.OpenTime <= last).ToList();
                await CandleStore.AddAsync(connection, symbol, timeframe, wanted, cancellationToken);
                fetched += wanted.Count;
                await progress(fetched, total);
                // The exchange has nothing more in this run (before a listing, or a gap it never filled): go on with the next.
                if (page.Count < PageSize || page[^1].OpenTime >= last) break;
                since = page[^1].OpenTime + 1;
            }
        }
        return fetched;
    }

    private async Task<List<Candle>> PageAsync(string symbol, string timeframe, long since, CancellationToken cancellationToken)
    {
        using var market = http.CreateClient(PriceSource.MarketClient);
        var url = $"/market/ohlcv?symbol={Uri.EscapeDataString(symbol)}&timeframe={timeframe}&since={since.ToString(CultureInfo.InvariantCulture)}&limit={PageSize}";
        using var response = await market.GetAsync(url, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
            throw new PriceException(response.StatusCode, $"candles of {symbol} {timeframe}: market answered {(int)response.StatusCode} {Detail(body)}".TrimEnd());
        return Parse(body);
    }

    /// <summary>GET /market/ohlcv's answer, [[open time ms, open, high, low, close, volume], …], as candles.</summary>
    public static List<Candle> Parse(string ohlcv)
    {
        using var json = JsonDocument.Parse(ohlcv);
        return [.. json.RootElement.EnumerateArray().Select(r => new Candle(r[0].GetInt64(), r[1].GetDecimal(), r[2].GetDecimal(), r[3].GetDecimal(),
            r[4].GetDecimal(), r[5].GetDecimal()))];
    }

    private static string? Detail(string body)
    {
        try
        {
            using var problem = JsonDocument.Parse(body);
            return problem.RootElement.TryGetProperty("detail", out var detail) ? $"({detail.GetString()})" : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
