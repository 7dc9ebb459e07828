using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using TradingBots.Binance;
using TradingBots.Events;
using TradingBots.ExchangeSim;
using TradingBots.Market;
using BookLevel = TradingBots.Binance.BookLevel;

namespace TradingBots.UnitTests;

/// <summary>
/// Order books end to end inside the test process: ExchangeSim's /api/v3/depth and /sim/books over HTTP, the typed
/// client reading them, and the Market service's /market/orderbook in ccxt's shape.
/// </summary>
public sealed class OrderBookTests
{
    private static readonly SymbolSpec Sol = SymbolCatalog.Find("SOLUSDT")!;
    private static readonly SymbolSpec Btc = SymbolCatalog.Find("BTCUSDT")!;

    private const string SolBook = """{"bids": [[100.5, 1.25], [100.4, 2], [99, 0.001]], "asks": [[100.6, 0.5], [101, 3]]}""";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_pinned_book_is_served_as_binance_sends_it_truncated_to_the_limit()
    {
        await using var sim = await SimHost.StartAsync();
        using var put = await sim.PutBookAsync("SOLUSDT", SolBook);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal("""{"symbol":"SOLUSDT","bids":[[100.5,1.25],[100.4,2],[99,0.001]],"asks":[[100.6,0.5],[101,3]]}""",
            await put.Content.ReadAsStringAsync(Cancel));
        var id = new PriceWalk(42, Sol).TradeId(SimHost.Start.ToUnixTimeSeconds());

        Assert.Equal(
            $$"""{"lastUpdateId":{{id}},"bids":[["100.50000000","1.25000000"],["100.40000000","2.00000000"],["99.00000000","0.00100000"]],"asks":[["100.60000000","0.50000000"],["101.00000000","3.00000000"]]}""",
            await sim.Http.GetStringAsync("/api/v3/depth?symbol=SOLUSDT", Cancel));
        Assert.Equal(
            $$"""{"lastUpdateId":{{id}},"bids":[["100.50000000","1.25000000"]],"asks":[["100.60000000","0.50000000"]]}""",
            await sim.Http.GetStringAsync("/api/v3/depth?symbol=SOLUSDT&limit=1", Cancel));
    }

    [Fact]
    public async Task The_synthetic_book_steps_one_tick_and_one_lot_per_level_around_the_price()
    {
        await using var sim = await SimHost.StartAsync();
        var price = sim.Market.CurrentPrice(Btc);

        using var depth = JsonDocument.Parse(await sim.Http.GetStringAsync("/api/v3/depth?symbol=BTCUSDT", Cancel));
        var (bids, asks) = (Levels(depth.RootElement.GetProperty("bids")), Levels(depth.RootElement.GetProperty("asks")));

        Assert.Equal((100, 100), (bids.Count, asks.Count));
        Assert.Equal((price - 0.01m, 0.01m), bids[0]);
        Assert.Equal((price + 0.01m, 0.01m), asks[0]);
        Assert.Equal((price - 0.03m, 0.03m), bids[2]);
        Assert.Equal((price + 1.00m, 1.00m), asks[99]);
        Assert.All(bids.Zip(bids.Skip(1)), p => Assert.Equal(0.01m, p.First.Price - p.Second.Price));
        Assert.All(asks.Zip(asks.Skip(1)), p => Assert.Equal(0.01m, p.Second.Price - p.First.Price));
        Assert.All(bids.Concat(asks), l => Assert.Equal(0m, l.Qty % Btc.StepSize));
        // A larger limit than Binance's maximum is served as the maximum.
        using var deepest = JsonDocument.Parse(await sim.Http.GetStringAsync("/api/v3/depth?symbol=BTCUSDT&limit=6000", Cancel));
        Assert.Equal(5000, deepest.RootElement.GetProperty("asks").GetArrayLength());
        Assert.Equal(5000, deepest.RootElement.GetProperty("bids").GetArrayLength());
    }

    [Fact]
    public async Task The_ticker_quotes_the_books_best_levels_pinned_or_not()
    {
        await using var sim = await SimHost.StartAsync();
        var price = sim.Market.CurrentPrice(Sol);
        Assert.Equal((price - 0.01m, 5m, price + 0.01m, 5m), await TopOfTickerAsync(sim));

        (await sim.PutBookAsync("SOLUSDT", SolBook)).Dispose();
        Assert.Equal((100.5m, 1.25m, 100.6m, 0.5m), await TopOfTickerAsync(sim));

        // An empty side quotes zero.
        (await sim.PutBookAsync("SOLUSDT", """{"bids": [], "asks": [[200, 1]]}""")).Dispose();
        Assert.Equal((0m, 0m, 200m, 1m), await TopOfTickerAsync(sim));

        using var delete = await sim.Http.DeleteAsync("/sim/books/SOLUSDT", Cancel);
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal((price - 0.01m, 5m, price + 0.01m, 5m), await TopOfTickerAsync(sim));
    }

    [Fact]
    public async Task Reset_unpins_every_book()
    {
        await using var sim = await SimHost.StartAsync();
        (await sim.PutBookAsync("SOLUSDT", SolBook)).Dispose();
        (await sim.PutBookAsync("btcusdt", """{"bids": [[1, 1]], "asks": [[2, 1]]}""")).Dispose();
        Assert.Equal(1m, sim.Market.Book(Btc, 1).Bids[0].Price);

        using var reset = await sim.Http.PostAsync("/sim/reset", null, Cancel);

        Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        Assert.Equal(sim.Market.CurrentPrice(Sol) - 0.01m, sim.Market.Book(Sol, 1).Bids[0].Price);
        Assert.Equal(sim.Market.CurrentPrice(Btc) + 0.01m, sim.Market.Book(Btc, 1).Asks[0].Price);
    }

    [Theory]
    [InlineData("symbol=BTCUSDT&limit=abc", -1100, "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.")]
    [InlineData("symbol=BTCUSDT&limit=-5", -1100, "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.")]
    [InlineData("symbol=BTCUSDT&limit=0", -1130, "Data sent for parameter 'limit' is not valid.")]
    [InlineData("limit=5", -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")]
    [InlineData("symbol=DOGEUSDT", -1121, "Invalid symbol.")]
    [InlineData("symbol=btcusdt", -1100, "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.")]
    public async Task Bad_depth_parameters_give_binances_errors(string query, int code, string msg)
    {
        await using var sim = await SimHost.StartAsync();

        using var response = await sim.Http.GetAsync($"/api/v3/depth?{query}", Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal(["code", "msg"], error.EnumerateObject().Select(p => p.Name));
        Assert.Equal((code, msg), (error.GetProperty("code").GetInt32(), error.GetProperty("msg").GetString()));
    }

    [Fact]
    public async Task Depth_weighs_by_limit_and_meets_the_faults()
    {
        await using var sim = await SimHost.StartAsync();
        var used = 0;
        foreach (var (limit, weight) in new[] { ("", 5), ("&limit=100", 5), ("&limit=101", 25), ("&limit=500", 25), ("&limit=1000", 50),
                     ("&limit=1001", 250), ("&limit=9999", 250), ("&limit=x", 5) })
        {
            using var response = await sim.Http.GetAsync($"/api/v3/depth?symbol=ETHUSDT{limit}", Cancel);
            var now = int.Parse(response.Headers.GetValues(UsageFilter.UsedWeightHeader).Single(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal((limit, weight), (limit, now - used));
            used = now;
        }

        sim.Faults.Set(FaultMode.Error500, [Sol]);
        using var faulted = await sim.Http.GetAsync("/api/v3/depth?symbol=SOLUSDT", Cancel);
        Assert.Equal(HttpStatusCode.InternalServerError, faulted.StatusCode);
        Assert.Equal(-1000, (await faulted.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("code").GetInt32());
    }

    [Theory]
    [InlineData("not json", "bids")]
    [InlineData("""{"asks": []}""", "bids")]
    [InlineData("""{"bids": []}""", "asks")]
    [InlineData("""{"bids": {}, "asks": []}""", "bids")]
    [InlineData("""{"bids": [[1, 1], [2, 1]], "asks": []}""", "bids")]
    [InlineData("""{"bids": [[2, 1], [2, 1]], "asks": []}""", "bids")]
    [InlineData("""{"bids": [], "asks": [[2, 1], [1, 1]]}""", "asks")]
    [InlineData("""{"bids": [[1, 0]], "asks": []}""", "bids")]
    [InlineData("""{"bids": [[-1, 1]], "asks": []}""", "bids")]
    [InlineData("""{"bids": [], "asks": [[1, "2"]]}""", "asks")]
    [InlineData("""{"bids": [], "asks": [[1]]}""", "asks")]
    [InlineData("""{"bids": [], "asks": [[1, 2, 3]]}""", "asks")]
    [InlineData("""{"bids": [[1.000000001, 1]], "asks": []}""", "bids")]
    [InlineData("""{"bids": [[2, 1]], "asks": [[2, 1]]}""", "asks")]
    [InlineData("""{"bids": [[3, 1]], "asks": [[2, 1]]}""", "asks")]
    public async Task A_book_to_pin_is_validated_naming_the_field(string body, string field)
    {
        await using var sim = await SimHost.StartAsync();

        using var response = await sim.PutBookAsync("SOLUSDT", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal([field], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
        // Nothing was pinned.
        Assert.Equal(sim.Market.CurrentPrice(Sol) - 0.01m, sim.Market.Book(Sol, 1).Bids[0].Price);
    }

    [Fact]
    public async Task Books_of_unknown_symbols_are_404()
    {
        await using var sim = await SimHost.StartAsync();
        using var put = await sim.PutBookAsync("DOGEUSDT", SolBook);
        using var delete = await sim.Http.DeleteAsync("/sim/books/DOGEUSDT", Cancel);
        Assert.Equal((HttpStatusCode.NotFound, HttpStatusCode.NotFound), (put.StatusCode, delete.StatusCode));
    }

    [Fact]
    public async Task The_client_reads_the_book_as_decimals()
    {
        await using var sim = await SimHost.StartAsync();
        (await sim.PutBookAsync("SOLUSDT", SolBook)).Dispose();
        var client = sim.Client();

        var book = await client.GetOrderBookAsync("SOLUSDT", 2, Cancel);

        Assert.Equal(new PriceWalk(42, Sol).TradeId(SimHost.Start.ToUnixTimeSeconds()), book.LastUpdateId);
        Assert.Equal([new BookLevel(100.5m, 1.25m), new BookLevel(100.4m, 2m)], book.Bids);
        Assert.Equal([new BookLevel(100.6m, 0.5m), new BookLevel(101m, 3m)], book.Asks);
        var (price, qty) = book.Asks[0];
        Assert.Equal((100.6m, 0.5m), (price, qty));

        var unknown = await Assert.ThrowsAsync<BinanceException>(() => client.GetOrderBookAsync("DOGEUSDT", 5, Cancel));
        Assert.Equal((BinanceErrorKind.UnknownSymbol, -1121), (unknown.Kind, unknown.Code));
        var bad = await Assert.ThrowsAsync<BinanceException>(() => client.GetOrderBookAsync("SOLUSDT", 0, Cancel));
        Assert.Equal((BinanceErrorKind.BadRequest, -1130), (bad.Kind, bad.Code));
        sim.Faults.Set(FaultMode.Malformed, [Sol]);
        var malformed = await Assert.ThrowsAsync<BinanceException>(() => client.GetOrderBookAsync("SOLUSDT", 5, Cancel));
        Assert.Equal(BinanceErrorKind.Malformed, malformed.Kind);
    }

    [Fact]
    public async Task Market_serves_the_book_in_ccxts_shape()
    {
        await using var sim = await SimHost.StartAsync();
        await using var market = await MarketHost.StartAsync(sim);
        (await sim.PutBookAsync("SOLUSDT", SolBook)).Dispose();
        var id = new PriceWalk(42, Sol).TradeId(SimHost.Start.ToUnixTimeSeconds());

        Assert.Equal(
            $$"""{"symbol":"SOL/USDT","bids":[[100.5,1.25],[100.4,2]],"asks":[[100.6,0.5],[101,3]],"timestamp":null,"datetime":null,"nonce":{{id}}}""",
            await market.Http.GetStringAsync("/market/orderbook?symbol=SOL/USDT&limit=2", Cancel));

        // The default limit is 100 levels a side.
        using var synthetic = await market.GetJsonAsync("/market/orderbook?symbol=BTC/USDT");
        Assert.Equal(100, synthetic.RootElement.GetProperty("bids").GetArrayLength());
        Assert.Equal(sim.Market.CurrentPrice(Btc) + 0.01m, synthetic.RootElement.GetProperty("asks")[0][0].GetDecimal());
    }

    [Theory]
    [InlineData("symbol=SOL/USDT&limit=0", "limit")]
    [InlineData("symbol=SOL/USDT&limit=5001", "limit")]
    [InlineData("symbol=SOL/USDT&limit=ten", "limit")]
    [InlineData("limit=5", "symbol")]
    [InlineData("symbol=DOGE/USDT", "symbol")]
    [InlineData("symbol=SOLUSDT", "symbol")]
    public async Task Market_refuses_a_bad_book_request_naming_the_field(string query, string field)
    {
        await using var sim = await SimHost.StartAsync();
        await using var market = await MarketHost.StartAsync(sim);

        using var response = await market.Http.GetAsync($"/market/orderbook?{query}", Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal([field], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
    }

    [Theory]
    [InlineData("error500", HttpStatusCode.BadGateway)]
    [InlineData("malformed", HttpStatusCode.BadGateway)]
    [InlineData("ratelimit429", HttpStatusCode.ServiceUnavailable)]
    public async Task Market_answers_upstream_failures_of_the_book_as_the_other_endpoints_do(string mode, HttpStatusCode status)
    {
        await using var sim = await SimHost.StartAsync();
        await using var market = await MarketHost.StartAsync(sim);
        sim.Faults.Set(FaultBoard.Modes[mode], [Sol]);

        using var response = await market.Http.GetAsync("/market/orderbook?symbol=SOL/USDT", Cancel);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        if (status == HttpStatusCode.ServiceUnavailable) Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task Market_openapi_lists_every_status_of_the_new_endpoints()
    {
        await using var sim = await SimHost.StartAsync();
        await using var market = await MarketHost.StartAsync(sim);

        using var document = await market.GetJsonAsync("/openapi/v1.json");

        foreach (var path in new[] { "/market/orderbook", "/market/markets" })
        {
            var responses = document.RootElement.GetProperty("paths").GetProperty(path).GetProperty("get").GetProperty("responses");
            Assert.Equal(["200", "400", "502", "503"], responses.EnumerateObject().Select(r => r.Name).Order());
        }
    }

    private static async Task<(decimal, decimal, decimal, decimal)> TopOfTickerAsync(SimHost sim)
    {
        var t = await sim.Http.GetFromJsonAsync<JsonElement>("/api/v3/ticker/24hr?symbol=SOLUSDT", Cancel);
        return (Dec(t.GetProperty("bidPrice")), Dec(t.GetProperty("bidQty")), Dec(t.GetProperty("askPrice")), Dec(t.GetProperty("askQty")));
    }

    private static List<(decimal Price, decimal Qty)> Levels(JsonElement side) =>
        [.. side.EnumerateArray().Select(l => (Dec(l[0]), Dec(l[1])))];

    private static decimal Dec(JsonElement value) => decimal.Parse(value.GetString()!, System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// ExchangeSim as its Program.cs builds it, on a free loopback port, its clock frozen at <see cref="Start"/> (seed 42).
/// </summary>
internal sealed class SimHost : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 3, 18, 12, 34, 56, 789, TimeSpan.Zero);

    private readonly WebApplication _app;

    private SimHost(WebApplication app, string url)
    {
        _app = app;
        Url = url;
        Http = new HttpClient { BaseAddress = new Uri(url) };
    }

    public string Url { get; }

    public HttpClient Http { get; }

    public MarketSimulator Market => _app.Services.GetRequiredService<MarketSimulator>();

    public FaultBoard Faults => _app.Services.GetRequiredService<FaultBoard>();

    public static async Task<SimHost> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.AddServiceDefaults();
        builder.AddExchangeSimServices();
        builder.Services.AddSingleton<TimeProvider>(new FakeTimeProvider(Start));
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapExchangeSimApi();
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new SimHost(app, app.Urls.First());
    }

    /// <summary>A typed client of this simulator.</summary>
    public BinanceClient Client() =>
        new(new HttpClient(), Options.Create(new BinanceOptions { BaseUrl = Url }), TimeProvider.System);

    public Task<HttpResponseMessage> PutBookAsync(string symbol, string body) =>
        Http.PutAsync($"/sim/books/{symbol}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
            TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// The Market service's API over a <see cref="SimHost"/>, wired as MarketExtensions wires it but with no Redis: a
/// notice of an upstream failure fails to publish, as it does when Redis is down.
/// </summary>
internal sealed class MarketHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private MarketHost(WebApplication app)
    {
        _app = app;
        Http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
    }

    public HttpClient Http { get; }

    public static async Task<MarketHost> StartAsync(SimHost sim)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.AddServiceDefaults();
        builder.Services.AddSingleton(sim.Client());
        builder.Services.AddOptions<MarketOptions>();
        builder.Services.AddSingleton<TickerCache>();
        builder.Services.AddSingleton<UpstreamNotices>();
        builder.Services.AddSingleton(new EventPublisher(DispatchProxy.Create<IConnectionMultiplexer, NoRedis>()));
        builder.Services.ConfigureHttpJsonOptions(json => WireJson.Configure(json.SerializerOptions));
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapMarketApi();
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new MarketHost(app);
    }

    public async Task<JsonDocument> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(path, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.DisposeAsync();
    }

    /// <summary>A Redis that is never there.</summary>
    public class NoRedis : DispatchProxy
    {
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            throw new RedisException("no Redis in unit tests");
    }
}
