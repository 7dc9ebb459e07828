using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace TradingBots.ExchangeSim;

/// <summary>
/// The public market-data subset of Binance's Spot REST API (/api/v3), with Binance's JSON shapes, error codes and
/// request weights. Prices and quantities go out as strings with 8 decimals, times and ids as numbers.
/// </summary>
public static class BinanceApi
{
    private const int DefaultKlineLimit = 500;
    private const int MaxKlineLimit = 1000;
    private const int DefaultDepthLimit = 100;

    public static IEndpointRouteBuilder MapBinanceApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v3").AddEndpointFilter<UsageFilter>();
        api.MapGet("/ping", () => TypedResults.Ok(new { })).WithWeight(1);
        api.MapGet("/time", (TimeProvider time) => TypedResults.Ok(new Time(time.GetUtcNow().ToUnixTimeMilliseconds())))
            .WithWeight(1);
        api.MapGet("/exchangeInfo", GetExchangeInfo).WithWeight(20);

        // Market data: where the control API's faults apply.
        var market = api.MapGroup("").AddEndpointFilter<FaultFilter>();
        market.MapGet("/ticker/price", GetTickerPrice).WithWeight(query => query.ContainsKey("symbol") ? 2 : 4);
        market.MapGet("/ticker/24hr", GetTicker24hr).WithWeight(query => SymbolQuery.Named(query["symbol"], query["symbols"]) switch
        {
            null => 80,
            { Count: <= 20 } => 2,
            { Count: <= 100 } => 40,
            _ => 80,
        });
        market.MapGet("/klines", GetKlines).WithWeight(2);
        market.MapGet("/depth", GetDepth).WithWeight(query => DepthWeight(query["limit"]));
        return app;
    }

    /// <summary>
    /// Binance's depth weight by limit: 1-100 → 5, 101-500 → 25, 501-1000 → 50, 1001-5000 (and more, served as 5000)
    /// → 250. A limit that is missing or not a positive number weighs as the default (100).
    /// </summary>
    public static int DepthWeight(string? limit)
    {
        var count = ulong.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1
            ? value : DefaultDepthLimit;
        return count switch
        {
            <= 100 => 5,
            <= 500 => 25,
            <= 1000 => 50,
            _ => 250,
        };
    }

    private static Results<Ok<ExchangeInfo>, BadRequest<BinanceError>> GetExchangeInfo(
        string? symbol, string? symbols, TimeProvider time)
    {
        if (!SymbolQuery.TryResolve(symbol, symbols, out var selection, out var error)) return TypedResults.BadRequest(error);
        return TypedResults.Ok(new ExchangeInfo(
            "UTC", time.GetUtcNow().ToUnixTimeMilliseconds(), ExchangeInfo.DefaultRateLimits, [],
            [.. selection.Symbols.Select(SymbolInfo.From)]));
    }

    private static Results<Ok<TickerPrice>, Ok<TickerPrice[]>, BadRequest<BinanceError>> GetTickerPrice(
        string? symbol, string? symbols, MarketSimulator market)
    {
        if (!SymbolQuery.TryResolve(symbol, symbols, out var selection, out var error)) return TypedResults.BadRequest(error);
        var prices = selection.Symbols.Select(s => new TickerPrice(s.Symbol, F8(market.CurrentPrice(s)))).ToArray();
        return selection.Single ? TypedResults.Ok(prices[0]) : TypedResults.Ok(prices);
    }

    private static Results<Ok<TickerStats>, Ok<TickerStats[]>, BadRequest<BinanceError>> GetTicker24hr(
        string? symbol, string? symbols, MarketSimulator market)
    {
        if (!SymbolQuery.TryResolve(symbol, symbols, out var selection, out var error)) return TypedResults.BadRequest(error);
        var tickers = selection.Symbols.Select(s => TickerStats.From(market.Ticker(s))).ToArray();
        return selection.Single ? TypedResults.Ok(tickers[0]) : TypedResults.Ok(tickers);
    }

    private static Results<Ok<IReadOnlyList<Candle>>, BadRequest<BinanceError>> GetKlines(
        string? symbol, string? interval, string? startTime, string? endTime, string? limit, MarketSimulator market)
    {
        if (string.IsNullOrEmpty(symbol)) return TypedResults.BadRequest(BinanceError.Mandatory("symbol"));
        if (!SymbolQuery.TryResolve(symbol, null, out var selection, out var error)) return TypedResults.BadRequest(error);
        if (string.IsNullOrEmpty(interval)) return TypedResults.BadRequest(BinanceError.Mandatory("interval"));
        if (KlineInterval.Find(interval) is not { } parsed) return TypedResults.BadRequest(BinanceError.InvalidInterval);

        var count = DefaultKlineLimit;
        if (limit is not null)
        {
            if (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count))
                return TypedResults.BadRequest(BinanceError.IllegalChars("limit", BinanceError.NumberRange));
            if (count is < 1 or > MaxKlineLimit) return TypedResults.BadRequest(BinanceError.InvalidParameter("limit"));
        }
        long? start = null, end = null;
        if (startTime is not null)
        {
            if (!long.TryParse(startTime, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                return TypedResults.BadRequest(BinanceError.IllegalChars("startTime", BinanceError.NumberRange));
            start = value;
        }
        if (endTime is not null)
        {
            if (!long.TryParse(endTime, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                return TypedResults.BadRequest(BinanceError.IllegalChars("endTime", BinanceError.NumberRange));
            end = value;
        }
        return TypedResults.Ok(market.Klines(selection.Symbols[0], parsed, start, end, count));
    }

    /// <summary>
    /// GET /api/v3/depth: symbol mandatory; limit optional, default 100, at most 5000 levels a side (a larger limit is
    /// served as 5000, as Binance documents); a limit that is not a whole number is -1100, one below 1 is -1130.
    /// </summary>
    private static Results<Ok<Depth>, BadRequest<BinanceError>> GetDepth(string? symbol, string? limit, MarketSimulator market)
    {
        if (string.IsNullOrEmpty(symbol)) return TypedResults.BadRequest(BinanceError.Mandatory("symbol"));
        if (!SymbolQuery.TryResolve(symbol, null, out var selection, out var error)) return TypedResults.BadRequest(error);

        var count = DefaultDepthLimit;
        if (limit is not null)
        {
            if (!ulong.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                return TypedResults.BadRequest(BinanceError.IllegalChars("limit", BinanceError.NumberRange));
            if (value < 1) return TypedResults.BadRequest(BinanceError.InvalidParameter("limit"));
            count = (int)Math.Min(value, MarketSimulator.MaxBookLevels);
        }
        return TypedResults.Ok(Depth.From(market.Book(selection.Symbols[0], count)));
    }

    internal static string F8(decimal value) => value.ToString("F8", CultureInfo.InvariantCulture);

    public sealed record Time(long ServerTime);

    /// <summary>The depth answer: <c>{"lastUpdateId": 1027024, "bids": [["4.00000000", "431.00000000"]], "asks": [...]}</c>.</summary>
    public sealed record Depth(long LastUpdateId, IReadOnlyList<string[]> Bids, IReadOnlyList<string[]> Asks)
    {
        public static Depth From(OrderBook book) => new(book.LastUpdateId, Levels(book.Bids), Levels(book.Asks));

        private static string[][] Levels(IReadOnlyList<BookLevel> levels) => [.. levels.Select(l => new[] { F8(l.Price), F8(l.Qty) })];
    }

    public sealed record TickerPrice(string Symbol, string Price);

    public sealed record TickerStats(
        string Symbol, string PriceChange, string PriceChangePercent, string WeightedAvgPrice, string PrevClosePrice,
        string LastPrice, string LastQty, string BidPrice, string BidQty, string AskPrice, string AskQty,
        string OpenPrice, string HighPrice, string LowPrice, string Volume, string QuoteVolume,
        long OpenTime, long CloseTime, long FirstId, long LastId, long Count)
    {
        public static TickerStats From(Ticker24h t) => new(
            t.Spec.Symbol, F8(t.PriceChange), t.PriceChangePercent.ToString("F3", CultureInfo.InvariantCulture),
            F8(t.WeightedAvgPrice), F8(t.PrevClosePrice), F8(t.LastPrice), F8(t.LastQty), F8(t.BidPrice), F8(t.BidQty),
            F8(t.AskPrice), F8(t.AskQty), F8(t.OpenPrice), F8(t.HighPrice), F8(t.LowPrice), F8(t.Volume),
            F8(t.QuoteVolume), t.OpenTime, t.CloseTime, t.FirstId, t.LastId, t.Count);
    }
}
