using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using TradingBots.Binance;

namespace TradingBots.Market;

/// <summary>GET /market/tickers and GET /market/ohlcv: Binance data in ccxt's unified shapes.</summary>
public static partial class MarketApi
{
    private const int DefaultLimit = 500, MaxLimit = 1000;

    [GeneratedRegex("^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}$")]
    private static partial Regex UnifiedSymbol();

    public static WebApplication MapMarketApi(this WebApplication app)
    {
        var market = app.MapGroup("/market");
        market.MapGet("/tickers", GetTickersAsync);
        market.MapGet("/ohlcv", GetOhlcvAsync);
        return app;
    }

    private static async Task<Results<Ok<Dictionary<string, Ticker>>, ProblemHttpResult>> GetTickersAsync(
        string? symbols, BinanceClient binance, TickerCache cache, UpstreamNotices notices, IOptions<MarketOptions> options,
        HttpResponse response, CancellationToken cancellationToken)
    {
        var requested = (symbols ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Distinct().ToList();
        if (requested.Count == 0) return Invalid("symbols", "give one or more symbols, e.g. symbols=BTC/USDT,ETH/USDT");
        if (requested.Count > options.Value.MaxSymbols) return Invalid("symbols", $"at most {options.Value.MaxSymbols} symbols per request");
        try
        {
            var map = await binance.GetSymbolsAsync(cancellationToken);
            var exchangeSymbols = new List<string>(requested.Count);
            foreach (var symbol in requested)
            {
                if (Resolve(map, symbol) is not { } exchangeSymbol) return UnknownSymbol("symbols", symbol);
                exchangeSymbols.Add(exchangeSymbol);
            }
            var tickers = await cache.GetAsync(exchangeSymbols, cancellationToken);
            return TypedResults.Ok(tickers.ToDictionary(t => map.UnifiedOf(t.Symbol), t => Ticker.From(map.UnifiedOf(t.Symbol), t)));
        }
        catch (BinanceException ex)
        {
            await notices.ReportAsync(ex, "Ticker");
            return Upstream(ex, response);
        }
    }

    private static async Task<Results<Ok<IEnumerable<decimal[]>>, ProblemHttpResult>> GetOhlcvAsync(
        string? symbol, string? timeframe, string? since, string? limit, BinanceClient binance, UpstreamNotices notices, HttpResponse response,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(symbol)) return Invalid("symbol", "give a symbol, e.g. symbol=BTC/USDT");
        timeframe ??= "1h";
        if (!BinanceClient.Intervals.Contains(timeframe))
            return Invalid("timeframe", $"'{timeframe}' is not one of {string.Join(", ", BinanceClient.Intervals)}");
        var count = DefaultLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxLimit))
            return Invalid("limit", $"must be an integer from 1 to {MaxLimit}");
        long? start = null;
        if (since is not null)
        {
            if (!long.TryParse(since, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
                return Invalid("since", "must be a Unix time in milliseconds (a whole number, 0 or more)");
            start = ms;
        }
        try
        {
            var map = await binance.GetSymbolsAsync(cancellationToken);
            if (Resolve(map, symbol) is not { } exchangeSymbol) return UnknownSymbol("symbol", symbol);
            var candles = await binance.GetKlinesAsync(exchangeSymbol, timeframe, count, cancellationToken, start);
            return TypedResults.Ok(candles.Select(c => new[] { c.OpenTime, c.Open, c.High, c.Low, c.Close, c.Volume }));
        }
        catch (BinanceException ex)
        {
            await notices.ReportAsync(ex, "OHLCV");
            return Upstream(ex, response);
        }
    }

    private static string? Resolve(SymbolMap map, string symbol) =>
        UnifiedSymbol().IsMatch(symbol) && map.TryGetExchangeSymbol(symbol, out var exchangeSymbol) ? exchangeSymbol : null;

    private static ProblemHttpResult UnknownSymbol(string field, string symbol) =>
        Invalid(field, UnifiedSymbol().IsMatch(symbol)
            ? $"unknown symbol '{symbol}': not listed on the exchange"
            : $"malformed symbol '{symbol}': expected BASE/QUOTE in capitals, e.g. BTC/USDT");

    private static ProblemHttpResult Invalid(string field, string reason) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: $"Invalid {field}", detail: $"{field}: {reason}",
            extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [reason] } });

    /// <summary>Rate limited → 503 with Retry-After (come back later); any other upstream failure → 502.</summary>
    private static ProblemHttpResult Upstream(BinanceException error, HttpResponse response)
    {
        if (error.Kind == BinanceErrorKind.RateLimited)
        {
            var seconds = (int)Math.Ceiling(Math.Max(1, error.RetryAfter?.TotalSeconds ?? 60));
            response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Exchange rate limit",
                detail: $"{error.Message}; retry after {seconds} s");
        }
        return TypedResults.Problem(statusCode: StatusCodes.Status502BadGateway,
            title: error.Kind == BinanceErrorKind.Timeout ? "Exchange timeout" : "Exchange error", detail: error.Message);
    }
}

/// <summary>A ticker in ccxt's unified shape (snake_case on the wire).</summary>
public sealed record Ticker(string Symbol, long Timestamp, string Datetime, decimal High, decimal Low, decimal Bid, decimal BidVolume,
    decimal Ask, decimal AskVolume, decimal Vwap, decimal Open, decimal Close, decimal Last, decimal PreviousClose, decimal Change,
    decimal Percentage, decimal Average, decimal BaseVolume, decimal QuoteVolume)
{
    public static Ticker From(string symbol, BinanceTicker24h t) => new(symbol, t.CloseTime,
        DateTimeOffset.FromUnixTimeMilliseconds(t.CloseTime).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        t.HighPrice, t.LowPrice, t.BidPrice, t.BidQty, t.AskPrice, t.AskQty, t.WeightedAvgPrice, t.OpenPrice, t.LastPrice, t.LastPrice,
        t.PrevClosePrice, t.PriceChange, t.PriceChangePercent, (t.OpenPrice + t.LastPrice) / 2, t.Volume, t.QuoteVolume);
}
