using System.Net;
using Microsoft.Extensions.Options;
using TradingBots.Binance;

namespace TradingBots.UnitTests;

/// <summary>The client against response bodies taken from Binance's Spot API documentation.</summary>
public sealed class BinanceClientTests
{
    // GET /api/v3/ticker/24hr, the documentation's example (one element of the symbols=[...] array form).
    private const string Ticker24hDoc = """
        [{
          "symbol": "BNBBTC", "priceChange": "-94.99999800", "priceChangePercent": "-95.960",
          "weightedAvgPrice": "0.29628482", "prevClosePrice": "0.10002000", "lastPrice": "4.00000200",
          "lastQty": "200.00000000", "bidPrice": "4.00000000", "bidQty": "100.00000000", "askPrice": "4.00000200",
          "askQty": "100.00000000", "openPrice": "99.00000000", "highPrice": "100.00000000", "lowPrice": "0.10000000",
          "volume": "8913.30000000", "quoteVolume": "15.30000000", "openTime": 1499783499040, "closeTime": 1499869899040,
          "firstId": 28385, "lastId": 28460, "count": 76
        }]
        """;

    // GET /api/v3/klines, the documentation's example.
    private const string KlinesDoc = """
        [[1499040000000, "0.01634790", "0.80000000", "0.01575800", "0.01577100", "148976.11427815", 1499644799999,
          "2434.19055334", 308, "1756.87402397", "28.46694368", "0"]]
        """;

    private const string ExchangeInfoDoc = """
        {"timezone": "UTC", "serverTime": 1565246363776, "rateLimits": [], "exchangeFilters": [], "symbols": [
          {"symbol": "ETHBTC", "status": "TRADING", "baseAsset": "ETH", "baseAssetPrecision": 8, "quoteAsset": "BTC",
           "quotePrecision": 8, "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "MARKET"], "filters": []},
          {"symbol": "1000SATSUSDT", "status": "TRADING", "baseAsset": "1000SATS", "quoteAsset": "USDT", "filters": []},
          {"symbol": "OLDUSDT", "status": "BREAK", "baseAsset": "OLD", "quoteAsset": "USDT", "filters": []}]}
        """;

    // GET /api/v3/depth, the documentation's example.
    private const string DepthDoc = """
        {"lastUpdateId": 1027024, "bids": [["4.00000000", "431.00000000"]], "asks": [["4.00000200", "12.00000000"]]}
        """;

    // A symbol with the documentation's filter examples (PRICE_FILTER with maxPrice disabled), filters we do not read, and none of NOTIONAL.
    private const string ExchangeInfoWithFiltersDoc = """
        {"timezone": "UTC", "serverTime": 1565246363776, "rateLimits": [], "exchangeFilters": [], "symbols": [
          {"symbol": "ETHBTC", "status": "TRADING", "baseAsset": "ETH", "quoteAsset": "BTC", "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.00000100", "maxPrice": "0.00000000", "tickSize": "0.00000100"},
            {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "1.2", "bidMultiplierDown": "0.2", "askMultiplierUp": "5",
             "askMultiplierDown": "0.8", "avgPriceMins": 1},
            {"filterType": "LOT_SIZE", "minQty": "0.00100000", "maxQty": "100000.00000000", "stepSize": "0.00100000"},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "1000.00000000", "stepSize": "0.00000000"},
            {"filterType": "MIN_NOTIONAL", "minNotional": "0.00100000", "applyToMarket": true, "avgPriceMins": 5},
            {"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10, "maxTrailingAboveDelta": 2000, "minTrailingBelowDelta": 10,
             "maxTrailingBelowDelta": 2000},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 25}]},
          {"symbol": "BNBUSDT", "status": "TRADING", "baseAsset": "BNB", "quoteAsset": "USDT", "filters": [
            {"filterType": "NOTIONAL", "minNotional": "10.00000000", "applyMinToMarket": false, "maxNotional": "10000.00000000",
             "applyMaxToMarket": false, "avgPriceMins": 5}]},
          {"symbol": "NEWUSDT", "status": "TRADING", "baseAsset": "NEW", "quoteAsset": "USDT"}]}
        """;

    [Fact]
    public async Task Parses_the_order_book_as_decimals()
    {
        var (client, handler) = Client(_ => Json(HttpStatusCode.OK, DepthDoc));

        var book = await client.GetOrderBookAsync("BNBBTC", 5, TestContext.Current.CancellationToken);

        Assert.Equal("/api/v3/depth?symbol=BNBBTC&limit=5", handler.Requests.Single().PathAndQuery);
        Assert.Equal(new BinanceOrderBook(1027024, book.Bids, book.Asks), book);
        Assert.Equal([new BookLevel(4.00000000m, 431.00000000m)], book.Bids);
        Assert.Equal([new BookLevel(4.00000200m, 12.00000000m)], book.Asks);
    }

    [Theory]
    [InlineData("""{"bids": [], "asks": []}""")]
    [InlineData("""{"lastUpdateId": 1, "asks": []}""")]
    [InlineData("""{"lastUpdateId": 1, "bids": [["4.0"]], "asks": []}""")]
    [InlineData("""{"lastUpdateId": 1, "bids": [[4.0, 1.0]], "asks": []}""")]
    [InlineData("""{"lastUpdateId": 1, "bids": [null], "asks": []}""")]
    [InlineData("""{"lastUpdateId": 1, "bids": [], "asks": [["x", "1"]]}""")]
    [InlineData("""{"lastUpdateId": 1, "bids": [], "asks": [[null, "1"]]}""")]
    [InlineData("""{"lastUpdateId": 1, "bids": [], "asks": {}}""")]
    [InlineData("""[]""")]
    public async Task A_malformed_order_book_is_typed(string body)
    {
        var (client, _) = Client(_ => Json(HttpStatusCode.OK, body));

        var error = await Assert.ThrowsAsync<BinanceException>(() => client.GetOrderBookAsync("BNBBTC", 5, TestContext.Current.CancellationToken));

        Assert.Equal(BinanceErrorKind.Malformed, error.Kind);
    }

    [Fact]
    public async Task Reads_each_symbols_filters_and_leaves_absent_ones_null()
    {
        var (client, _) = Client(_ => Json(HttpStatusCode.OK, ExchangeInfoWithFiltersDoc));

        var map = await client.GetSymbolsAsync(TestContext.Current.CancellationToken);

        Assert.Equal(new SymbolFilters
        {
            MinPrice = 0.000001m, MaxPrice = null, TickSize = 0.000001m,
            MinQty = 0.001m, MaxQty = 100_000m, StepSize = 0.001m,
            MarketMinQty = 0m, MarketMaxQty = 1_000m, MarketStepSize = 0m,
            MinNotional = 0.001m, MinNotionalApplyToMarket = true,
        }, map.FiltersOf("ETHBTC"));
        Assert.Equal(new SymbolFilters
        {
            NotionalMin = 10m, NotionalApplyMinToMarket = false, NotionalMax = 10_000m, NotionalApplyMaxToMarket = false,
        }, map.FiltersOf("BNBUSDT"));
        Assert.Equal(SymbolFilters.None, map.FiltersOf("NEWUSDT"));
        Assert.True(map.TryGetSymbol("NEWUSDT", out var listed));
        Assert.Same(SymbolFilters.None, listed.Filters);
    }

    [Fact]
    public async Task A_malformed_filter_is_a_malformed_answer()
    {
        var (client, _) = Client(_ => Json(HttpStatusCode.OK, """
            {"symbols": [{"symbol": "ETHBTC", "status": "TRADING", "baseAsset": "ETH", "quoteAsset": "BTC",
              "filters": [{"filterType": "PRICE_FILTER", "minPrice": "0", "maxPrice": "0", "tickSize": "one cent"}]}]}
            """));

        var error = await Assert.ThrowsAsync<BinanceException>(() => client.GetSymbolsAsync(TestContext.Current.CancellationToken));

        Assert.Equal(BinanceErrorKind.Malformed, error.Kind);
    }

    [Fact]
    public async Task Parses_the_24h_ticker_as_decimals()
    {
        var (client, handler) = Client(_ => Json(HttpStatusCode.OK, Ticker24hDoc));

        var ticker = Assert.Single(await client.GetTickers24hAsync(["BNBBTC"], TestContext.Current.CancellationToken));

        Assert.Equal("/api/v3/ticker/24hr?symbols=%5B%22BNBBTC%22%5D", handler.Requests.Single().PathAndQuery);
        Assert.Equal(4.00000200m, ticker.LastPrice);
        Assert.Equal(4.00000000m, ticker.BidPrice);
        Assert.Equal(-95.960m, ticker.PriceChangePercent);
        Assert.Equal(8913.30000000m, ticker.Volume);
        Assert.Equal(15.30000000m, ticker.QuoteVolume);
        Assert.Equal(1499869899040, ticker.CloseTime);
    }

    [Fact]
    public async Task Parses_klines()
    {
        var (client, handler) = Client(_ => Json(HttpStatusCode.OK, KlinesDoc));

        var candle = Assert.Single(await client.GetKlinesAsync("BNBBTC", "1h", 500, TestContext.Current.CancellationToken));

        Assert.Equal("/api/v3/klines?symbol=BNBBTC&interval=1h&limit=500", handler.Requests.Single().PathAndQuery);
        Assert.Equal(new Candle(1499040000000, 0.01634790m, 0.80000000m, 0.01575800m, 0.01577100m, 148976.11427815m), candle);
    }

    [Fact]
    public async Task Maps_symbols_through_exchange_info_and_loads_it_once()
    {
        var (client, handler) = Client(_ => Json(HttpStatusCode.OK, ExchangeInfoDoc));

        var map = await client.GetSymbolsAsync(TestContext.Current.CancellationToken);
        await client.GetSymbolsAsync(TestContext.Current.CancellationToken);

        Assert.True(map.TryGetExchangeSymbol("ETH/BTC", out var eth));
        Assert.Equal("ETHBTC", eth);
        Assert.True(map.TryGetExchangeSymbol("1000SATS/USDT", out var sats));
        Assert.Equal("1000SATSUSDT", sats);
        Assert.False(map.TryGetExchangeSymbol("OLD/USDT", out _));
        Assert.Equal("ETH/BTC", map.UnifiedOf("ETHBTC"));
        Assert.Single(handler.Requests);
    }

    [Theory]
    [InlineData(400, """{"code":-1121,"msg":"Invalid symbol."}""", BinanceErrorKind.UnknownSymbol, -1121)]
    [InlineData(400, """{"code":-1120,"msg":"Invalid interval."}""", BinanceErrorKind.BadInterval, -1120)]
    [InlineData(400, """{"code":-1100,"msg":"Illegal characters found in parameter 'symbols'."}""", BinanceErrorKind.BadRequest, -1100)]
    [InlineData(500, """{"code":-1000,"msg":"An unknown error occurred while processing the request."}""", BinanceErrorKind.ExchangeError, -1000)]
    [InlineData(503, "<html>Service Unavailable</html>", BinanceErrorKind.ExchangeError, null)]
    public async Task Types_binance_errors(int status, string body, BinanceErrorKind kind, int? code)
    {
        var (client, _) = Client(_ => Json((HttpStatusCode)status, body));

        var error = await Assert.ThrowsAsync<BinanceException>(() => client.GetKlinesAsync("X", "1h", 1, TestContext.Current.CancellationToken));

        Assert.Equal(kind, error.Kind);
        Assert.Equal(code, error.Code);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(418)]
    public async Task Rate_limits_carry_retry_after(int status)
    {
        var (client, _) = Client(_ =>
        {
            var response = Json((HttpStatusCode)status, """{"code":-1003,"msg":"Too many requests."}""");
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(7));
            return response;
        });

        var error = await Assert.ThrowsAsync<BinanceException>(() => client.GetTickers24hAsync(["BTCUSDT"], TestContext.Current.CancellationToken));

        Assert.Equal(BinanceErrorKind.RateLimited, error.Kind);
        Assert.Equal(TimeSpan.FromSeconds(7), error.RetryAfter);
    }

    [Fact]
    public async Task After_a_rate_limit_no_call_leaves_until_retry_after()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var limited = true;
        var handler = new StubHandler(_ =>
        {
            if (!limited) return Json(HttpStatusCode.OK, "{}");
            var response = Json(HttpStatusCode.TooManyRequests, """{"code":-1003,"msg":"Too many requests."}""");
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(7));
            return response;
        });
        var client = new BinanceClient(new HttpClient(handler), Options.Create(new BinanceOptions { BaseUrl = "http://binance.test" }), time);

        await Assert.ThrowsAsync<BinanceException>(() => client.PingAsync(TestContext.Current.CancellationToken));
        limited = false;
        time.Advance(TimeSpan.FromSeconds(6));
        var held = await Assert.ThrowsAsync<BinanceException>(() => client.GetKlinesAsync("BTCUSDT", "1m", 1, TestContext.Current.CancellationToken));
        time.Advance(TimeSpan.FromSeconds(1.5));
        await client.PingAsync(TestContext.Current.CancellationToken);

        Assert.Equal(BinanceErrorKind.RateLimited, held.Kind);
        Assert.Equal(TimeSpan.FromSeconds(1), held.RetryAfter);
        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task Malformed_body_is_typed()
    {
        var (client, _) = Client(_ => Json(HttpStatusCode.OK, """[{"symbol": "BTCUSDT", "lastPrice": "1"""));

        var error = await Assert.ThrowsAsync<BinanceException>(() => client.GetTickers24hAsync(["BTCUSDT"], TestContext.Current.CancellationToken));

        Assert.Equal(BinanceErrorKind.Malformed, error.Kind);
    }

    [Fact]
    public async Task Network_failure_is_typed()
    {
        var (client, _) = Client(_ => throw new HttpRequestException("Connection refused"));

        var error = await Assert.ThrowsAsync<BinanceException>(() => client.PingAsync(TestContext.Current.CancellationToken));

        Assert.Equal(BinanceErrorKind.Network, error.Kind);
    }

    [Fact]
    public async Task Times_out_after_the_request_timeout_but_honours_the_callers_cancellation()
    {
        var (client, _) = Client(_ => null, TimeSpan.FromMilliseconds(200));

        var error = await Assert.ThrowsAsync<BinanceException>(() => client.PingAsync(TestContext.Current.CancellationToken));
        Assert.Equal(BinanceErrorKind.Timeout, error.Kind);

        using var cancelled = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.PingAsync(cancelled.Token));
    }

    private static HttpResponseMessage Json(HttpStatusCode status, string body) =>
        new(status) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };

    /// <summary>A client over a stand-in handler; a null response means "never answers".</summary>
    private static (BinanceClient Client, StubHandler Handler) Client(Func<HttpRequestMessage, HttpResponseMessage?> respond,
        TimeSpan? timeout = null)
    {
        var handler = new StubHandler(respond);
        var options = Options.Create(new BinanceOptions { BaseUrl = "http://binance.test", RequestTimeout = timeout ?? TimeSpan.FromSeconds(5) });
        return (new BinanceClient(new HttpClient(handler), options, TimeProvider.System), handler);
    }

    private sealed class StubHandler(Func<HttpRequestMessage, HttpResponseMessage?> respond) : HttpMessageHandler
    {
        public List<Uri> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request.RequestUri!);
            var response = respond(request);
            if (response is null) await Task.Delay(Timeout.Infinite, cancellationToken);
            return response!;
        }
    }
}
