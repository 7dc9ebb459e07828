using System.Net;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TradingBots.Binance;
using TradingBots.Market;

namespace TradingBots.UnitTests;

/// <summary>The Market's ticker cache against a stand-in exchange that counts its calls.</summary>
public sealed class TickerCacheTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Concurrent_requests_for_overlapping_symbols_make_one_call()
    {
        var exchange = new StubExchange();
        var cache = Cache(exchange, out _);

        exchange.Hold();
        var requests = Enumerable.Range(0, 30).Select(i => cache.GetAsync(i % 2 == 0 ? ["BTCUSDT"] : ["BTCUSDT", "ETHUSDT"], Cancel)).ToList();
        exchange.Release();
        var answers = await Task.WhenAll(requests);

        // The first call carries BTC alone; everything asked meanwhile is gathered into one more.
        Assert.InRange(exchange.Calls, 1, 2);
        Assert.All(answers, a => Assert.Equal(100m, a[0].LastPrice));
        await cache.GetAsync(["ETHUSDT", "BTCUSDT"], Cancel);
        Assert.InRange(exchange.Calls, 1, 2); // and within the window, from memory
    }

    [Fact]
    public async Task A_fresh_entry_is_served_from_memory_until_the_window_ends()
    {
        var exchange = new StubExchange();
        var cache = Cache(exchange, out var time);

        await cache.GetAsync(["BTCUSDT"], Cancel);
        exchange.Price = 101m;
        var cached = await cache.GetAsync(["BTCUSDT"], Cancel);
        time.Advance(TimeSpan.FromSeconds(1));
        var fresh = await cache.GetAsync(["BTCUSDT"], Cancel);

        Assert.Equal((100m, 101m, 2), (cached[0].LastPrice, fresh[0].LastPrice, exchange.Calls));
    }

    [Fact]
    public async Task A_rate_limit_holds_every_call_off_until_retry_after()
    {
        var exchange = new StubExchange { Status = HttpStatusCode.TooManyRequests };
        var cache = Cache(exchange, out var time);

        var first = await Assert.ThrowsAsync<BinanceException>(() => cache.GetAsync(["BTCUSDT"], Cancel));
        exchange.Status = HttpStatusCode.OK;
        time.Advance(TimeSpan.FromSeconds(4));
        var held = await Assert.ThrowsAsync<BinanceException>(() => cache.GetAsync(["ETHUSDT"], Cancel));
        time.Advance(TimeSpan.FromSeconds(1.1));
        var after = await cache.GetAsync(["BTCUSDT"], Cancel);

        Assert.Equal((BinanceErrorKind.RateLimited, BinanceErrorKind.RateLimited), (first.Kind, held.Kind));
        Assert.Equal(2, exchange.Calls);
        Assert.Equal(100m, after[0].LastPrice);
    }

    [Theory]
    [InlineData("[{}]")]
    [InlineData("[null]")]
    [InlineData("[]")]
    public async Task An_answer_without_the_ticker_fails_the_waiters_instead_of_hanging_or_serving_old_data(string body)
    {
        var exchange = new StubExchange();
        var cache = Cache(exchange, out var time);
        await cache.GetAsync(["BTCUSDT"], Cancel);
        time.Advance(TimeSpan.FromSeconds(1));
        exchange.Body = body;

        var error = await Assert.ThrowsAsync<BinanceException>(() => cache.GetAsync(["BTCUSDT"], Cancel).WaitAsync(TimeSpan.FromSeconds(5), Cancel));

        Assert.Equal(BinanceErrorKind.Malformed, error.Kind);
    }

    private static TickerCache Cache(StubExchange exchange, out FakeTimeProvider time)
    {
        time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var binance = new BinanceClient(new HttpClient(exchange), Options.Create(new BinanceOptions { BaseUrl = "http://exchange.test" }), time);
        return new TickerCache(binance, Options.Create(new MarketOptions()), time);
    }

    /// <summary>GET /api/v3/ticker/24hr with a fixed price for whatever symbols are asked; can be held to let requests pile up.</summary>
    private sealed class StubExchange : HttpMessageHandler
    {
        private TaskCompletionSource _gate = Completed();
        private int _calls;

        public int Calls => _calls;
        public decimal Price { get; set; } = 100m;
        public HttpStatusCode Status { get; set; } = HttpStatusCode.OK;
        public string? Body { get; set; }

        public void Hold() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        public void Release() => _gate.SetResult();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            await _gate.Task;
            if (Status == HttpStatusCode.TooManyRequests)
            {
                var limited = new HttpResponseMessage(Status) { Content = new StringContent("""{"code":-1003,"msg":"Too many requests."}""") };
                limited.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(5));
                return limited;
            }
            var symbols = System.Text.Json.JsonSerializer.Deserialize<string[]>(Uri.UnescapeDataString(request.RequestUri!.Query.Split("symbols=")[1]))!;
            var tickers = string.Join(",", symbols.Select(s => $$"""
                {"symbol":"{{s}}","priceChange":"0","priceChangePercent":"0","weightedAvgPrice":"{{Price}}","prevClosePrice":"{{Price}}",
                 "lastPrice":"{{Price}}","lastQty":"1","bidPrice":"{{Price}}","bidQty":"1","askPrice":"{{Price}}","askQty":"1",
                 "openPrice":"{{Price}}","highPrice":"{{Price}}","lowPrice":"{{Price}}","volume":"1","quoteVolume":"1",
                 "openTime":0,"closeTime":0,"firstId":0,"lastId":0,"count":0}
                """));
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(Body ?? $"[{tickers}]") };
        }

        private static TaskCompletionSource Completed()
        {
            var done = new TaskCompletionSource();
            done.SetResult();
            return done;
        }
    }
}
