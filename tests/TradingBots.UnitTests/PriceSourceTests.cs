using System.Net;
using TradingBots.Paper;

namespace TradingBots.UnitTests;

public sealed class PriceSourceTests
{
    [Fact]
    public async Task Concurrent_asks_for_one_symbol_share_one_market_call()
    {
        var gate = new TaskCompletionSource();
        var market = new StubMarket(async () => { await gate.Task; return 100m; });
        var prices = new PriceSource(market, TimeProvider.System);

        var asks = Enumerable.Range(0, 10).Select(_ => prices.GetPriceAsync("BTC/USDT", TestContext.Current.CancellationToken)).ToList();
        gate.SetResult();

        Assert.All(await Task.WhenAll(asks), price => Assert.Equal(100m, price));
        Assert.Equal(1, market.Calls);
    }

    [Fact]
    public async Task A_finished_call_is_never_reused()
    {
        // The market answers at once (synchronously): every ask after the last answer must ask again.
        var market = new StubMarket(() => Task.FromResult(0m)) { Next = 100m };
        var prices = new PriceSource(market, TimeProvider.System);

        var first = await prices.GetPriceAsync("BTC/USDT", TestContext.Current.CancellationToken);
        market.Next = 120m;
        var second = await prices.GetPriceAsync("BTC/USDT", TestContext.Current.CancellationToken);

        Assert.Equal((100m, 120m), (first, second));
        Assert.Equal(2, market.Calls);
    }

    [Fact]
    public async Task Market_errors_become_price_exceptions_with_the_market_status()
    {
        var market = new StubMarket(() => Task.FromResult(0m)) { Status = HttpStatusCode.BadRequest };
        var prices = new PriceSource(market, TimeProvider.System);

        var error = await Assert.ThrowsAsync<PriceException>(() => prices.GetPriceAsync("FOO/USDT", TestContext.Current.CancellationToken));

        Assert.Equal(HttpStatusCode.BadRequest, error.Status);
        Assert.Equal("symbols: unknown symbol 'FOO/USDT'", error.Message);
    }

    /// <summary>Stands in for the Market service's GET /market/tickers.</summary>
    private sealed class StubMarket(Func<Task<decimal>> price) : HttpMessageHandler, IHttpClientFactory
    {
        private int _calls;

        public int Calls => _calls;
        public decimal? Next { get; set; }
        public HttpStatusCode Status { get; init; } = HttpStatusCode.OK;

        public HttpClient CreateClient(string name) => new(this, disposeHandler: false) { BaseAddress = new Uri("http://market") };

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            if (Status != HttpStatusCode.OK)
            {
                return new HttpResponseMessage(Status)
                {
                    Content = new StringContent("""{"title":"Invalid symbols","detail":"symbols: unknown symbol 'FOO/USDT'"}"""),
                };
            }
            var last = Next ?? await price();
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent($$$"""{"BTC/USDT": {"symbol": "BTC/USDT", "bid": {{{last - 0.01m}}}, "ask": {{{last + 0.01m}}}, "last": {{{last}}}}}""") };
        }
    }
}
