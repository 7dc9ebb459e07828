using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using TradingBots.Binance;

namespace TradingBots.Market;

/// <summary>
/// GET /market/tickers, /market/ohlcv, /market/orderbook and /market/markets: Binance data in ccxt's unified shapes.
/// </summary>
public static partial class MarketApi
{
    private const int DefaultLimit = 500, MaxLimit = 1000;
    private const int DefaultBookLimit = 100, MaxBookLimit = 5000;

    [GeneratedRegex("^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}$")]
    private static partial Regex UnifiedSymbol();

    public static WebApplication MapMarketApi(this WebApplication app)
    {
        // Every refusal is a 400 naming the field; an exchange rate limit a 503 with Retry-After; any other upstream failure a 502.
        var market = app.MapGroup("/market").ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status502BadGateway).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        market.MapGet("/tickers", GetTickersAsync);
        market.MapGet("/ohlcv", GetOhlcvAsync);
        market.MapGet("/orderbook", GetOrderBookAsync);
        market.MapGet("/markets", GetMarketsAsync);
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

    /// <summary>The symbol's order book from /api/v3/depth, at most <c>limit</c> (1..5000, default 100) levels a side; never cached.</summary>
    private static async Task<Results<Ok<OrderBook>, ProblemHttpResult>> GetOrderBookAsync(
        string? symbol, string? limit, BinanceClient binance, UpstreamNotices notices, HttpResponse response, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(symbol)) return Invalid("symbol", "give a symbol, e.g. symbol=BTC/USDT");
        var count = DefaultBookLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > MaxBookLimit))
            return Invalid("limit", $"must be an integer from 1 to {MaxBookLimit}");
        try
        {
            var map = await binance.GetSymbolsAsync(cancellationToken);
            if (Resolve(map, symbol) is not { } exchangeSymbol) return UnknownSymbol("symbol", symbol);
            return TypedResults.Ok(OrderBook.From(symbol, await binance.GetOrderBookAsync(exchangeSymbol, count, cancellationToken)));
        }
        catch (BinanceException ex)
        {
            await notices.ReportAsync(ex, "Order book");
            return Upstream(ex, response);
        }
    }

    /// <summary>
    /// The markets asked for (every listed market when <c>symbols</c> is absent or empty), keyed by unified symbol, from
    /// the exchangeInfo the client already holds (reloaded hourly): no upstream call per request.
    /// </summary>
    private static async Task<Results<Ok<Dictionary<string, MarketInfo>>, ProblemHttpResult>> GetMarketsAsync(
        string? symbols, BinanceClient binance, UpstreamNotices notices, HttpResponse response, CancellationToken cancellationToken)
    {
        var requested = (symbols ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Distinct().ToList();
        try
        {
            var map = await binance.GetSymbolsAsync(cancellationToken);
            if (requested.Count == 0)
                return TypedResults.Ok(map.Symbols.OrderBy(s => s.Unified, StringComparer.Ordinal).ToDictionary(s => s.Unified, MarketInfo.From));
            var markets = new Dictionary<string, MarketInfo>(requested.Count);
            foreach (var symbol in requested)
            {
                if (Resolve(map, symbol) is not { } exchangeSymbol || !map.TryGetSymbol(exchangeSymbol, out var listed))
                    return UnknownSymbol("symbols", symbol);
                markets[symbol] = MarketInfo.From(listed);
            }
            return TypedResults.Ok(markets);
        }
        catch (BinanceException ex)
        {
            await notices.ReportAsync(ex, "Markets");
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

/// <summary>
/// An order book in ccxt's unified shape (snake_case on the wire): [price, amount] levels, bids best (highest) first,
/// asks best (lowest) first. Binance's REST snapshot carries no time, so timestamp and datetime are null (as ccxt
/// leaves them); nonce is Binance's lastUpdateId.
/// </summary>
public sealed record OrderBook(string Symbol, IReadOnlyList<decimal[]> Bids, IReadOnlyList<decimal[]> Asks, long? Timestamp,
    string? Datetime, long Nonce)
{
    public static OrderBook From(string symbol, BinanceOrderBook book) =>
        new(symbol, Levels(book.Bids), Levels(book.Asks), null, null, book.LastUpdateId);

    private static decimal[][] Levels(IReadOnlyList<BookLevel> levels) => [.. levels.Select(l => new[] { l.Price, l.Qty })];
}

/// <summary>
/// A market in (a subset of) ccxt's unified market structure, from the symbol's exchangeInfo filters; null wherever
/// the symbol has no such filter. precision.amount is LOT_SIZE's stepSize and precision.price PRICE_FILTER's tickSize
/// (ccxt's TICK_SIZE precision mode); limits.amount is LOT_SIZE, limits.market MARKET_LOT_SIZE, limits.price
/// PRICE_FILTER (a disabled rule, 0 on Binance, is null). limits.cost is the notional (price × amount, quote asset)
/// range any order must fall in: min and max from NOTIONAL, Binance's current filter; min from MIN_NOTIONAL, the filter
/// it replaced, only on a symbol without NOTIONAL. min_notional_applies_to_market says whether that min also binds
/// MARKET orders (NOTIONAL's applyMinToMarket, or MIN_NOTIONAL's applyToMarket), false when there is no min;
/// max_notional_applies_to_market the same of NOTIONAL's max (applyMaxToMarket).
/// </summary>
public sealed record MarketInfo(string Symbol, string Id, string Base, string Quote, MarketPrecision Precision, MarketLimits Limits,
    bool MinNotionalAppliesToMarket, bool MaxNotionalAppliesToMarket)
{
    public static MarketInfo From(BinanceSymbol symbol)
    {
        var f = symbol.Filters;
        var notional = f.NotionalMin is not null || f.NotionalMax is not null;
        var (costMin, appliesToMarket) = notional
            ? (f.NotionalMin, f.NotionalMin is not null && f.NotionalApplyMinToMarket == true)
            : (f.MinNotional, f.MinNotional is not null && f.MinNotionalApplyToMarket == true);
        return new MarketInfo(symbol.Unified, symbol.Symbol, symbol.BaseAsset, symbol.QuoteAsset,
            new MarketPrecision(f.StepSize, f.TickSize),
            new MarketLimits(new MinMax(f.MinQty, f.MaxQty), new MinMax(f.MarketMinQty, f.MarketMaxQty), new MinMax(f.MinPrice, f.MaxPrice),
                new MinMax(costMin, f.NotionalMax)),
            appliesToMarket, f.NotionalMax is not null && f.NotionalApplyMaxToMarket == true);
    }
}

/// <summary>ccxt's precision in TICK_SIZE mode: the step of an amount and of a price.</summary>
public sealed record MarketPrecision(decimal? Amount, decimal? Price);

public sealed record MarketLimits(MinMax Amount, MinMax Market, MinMax Price, MinMax Cost);

public sealed record MinMax(decimal? Min, decimal? Max);
