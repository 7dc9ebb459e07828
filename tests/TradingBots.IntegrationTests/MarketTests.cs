using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using TradingBots.Binance;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>The market endpoints end to end through the gateway, against ExchangeSim prices pinned by its control API.</summary>
public sealed class MarketTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/market/tickers")]
    [InlineData("/api/market/tickers")]
    public async Task Tickers_answer_the_simulators_exact_prices(string path)
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        await topology.SetPriceAsync("ETH/USDT", 3500.5m);

        var tickers = await GetJsonAsync($"{path}?symbols=BTC/USDT,ETH/USDT");

        var btc = tickers.GetProperty("BTC/USDT");
        Assert.Equal("BTC/USDT", btc.GetProperty("symbol").GetString());
        Assert.Equal(100000m, btc.GetProperty("last").GetDecimal());
        Assert.Equal(100000m, btc.GetProperty("close").GetDecimal());
        Assert.Equal(99999.99m, btc.GetProperty("bid").GetDecimal());
        Assert.Equal(100000.01m, btc.GetProperty("ask").GetDecimal());
        Assert.Equal(3500.5m, tickers.GetProperty("ETH/USDT").GetProperty("last").GetDecimal());
        foreach (var field in new[] { "timestamp", "datetime", "high", "low", "open", "base_volume", "quote_volume", "percentage", "change", "vwap" })
        {
            Assert.True(btc.TryGetProperty(field, out _), $"ticker has {field}");
        }
        Assert.True(btc.GetProperty("high").GetDecimal() >= btc.GetProperty("low").GetDecimal());
    }

    [Fact]
    public async Task A_new_price_is_served_after_the_cache_window()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        using var put = await topology.Sim.PutAsJsonAsync("/sim/prices/BTCUSDT", new { price = 101234.5m }, Cancel);
        put.EnsureSuccessStatusCode();

        await Task.Delay(TimeSpan.FromSeconds(1.1), Cancel); // the ticker cache window (1 s) passes: the time is the point

        Assert.Equal(101234.5m, (await GetJsonAsync("/api/market/tickers?symbols=BTC/USDT")).GetProperty("BTC/USDT").GetProperty("last").GetDecimal());
    }

    [Theory]
    [InlineData("/market/ohlcv")]
    [InlineData("/api/market/ohlcv")]
    public async Task Ohlcv_is_the_simulators_klines_in_ccxt_shape(string path)
    {
        await topology.SetPriceAsync("ETH/USDT", 3456.78m);

        var candles = (await GetJsonAsync($"{path}?symbol=ETH/USDT&timeframe=1h&limit=5")).EnumerateArray().ToList();
        using var klines = JsonDocument.Parse(await topology.Sim.GetStringAsync("/api/v3/klines?symbol=ETHUSDT&interval=1h&limit=5", Cancel));

        Assert.Equal(5, candles.Count);
        foreach (var (candle, kline, index) in candles.Zip(klines.RootElement.EnumerateArray(), Enumerable.Range(0, 5)))
        {
            Assert.Equal(6, candle.GetArrayLength());
            Assert.Equal(kline[0].GetInt64(), candle[0].GetInt64());
            // The newest candle is still open: its volume grows between the two reads, its prices are pinned.
            var fields = index < 4 ? 5 : 4;
            for (var i = 1; i <= fields; i++) Assert.Equal(decimal.Parse(kline[i].GetString()!, System.Globalization.CultureInfo.InvariantCulture), candle[i].GetDecimal());
        }
        Assert.Equal(3456.78m, candles[^1][4].GetDecimal());
        Assert.Equal(500, (await GetJsonAsync($"{path}?symbol=ETH/USDT&timeframe=1m")).GetArrayLength());
    }

    [Fact]
    public async Task Ohlcv_since_pages_forward_from_an_open_time()
    {
        // Three pages of 1,000 one-minute candles (50 hours) from a whole hour three days ago, each page starting one ms after the last open.
        var hour = DateTimeOffset.UtcNow.AddDays(-3).ToUnixTimeMilliseconds() / 3_600_000 * 3_600_000;
        var opens = new List<long>();
        var since = hour + 1;
        for (var page = 0; page < 3; page++)
        {
            var candles = (await GetJsonAsync($"/api/market/ohlcv?symbol=SOL/USDT&timeframe=1m&since={since}&limit=1000")).EnumerateArray()
                .Select(c => c[0].GetInt64()).ToList();
            Assert.Equal(1000, candles.Count);
            opens.AddRange(candles);
            since = candles[^1] + 1;
        }

        Assert.Equal(Enumerable.Range(1, 3000).Select(i => hour + 60_000L * i), opens);
        using var klines = JsonDocument.Parse(await topology.Sim.GetStringAsync(
            $"/api/v3/klines?symbol=SOLUSDT&interval=1m&startTime={hour + 60_000}&limit=1", Cancel));
        var first = (await GetJsonAsync($"/api/market/ohlcv?symbol=SOL/USDT&timeframe=1m&since={hour + 60_000}&limit=1"))[0];
        Assert.Equal(decimal.Parse(klines.RootElement[0][4].GetString()!, System.Globalization.CultureInfo.InvariantCulture), first[4].GetDecimal());
    }

    [Theory]
    [InlineData("/api/market/tickers?symbols=FOO/USDT", "symbols", "unknown symbol 'FOO/USDT'")]
    [InlineData("/api/market/tickers?symbols=BTC/USDT,btcusdt", "symbols", "malformed symbol 'btcusdt'")]
    [InlineData("/api/market/tickers", "symbols", "give one or more symbols")]
    [InlineData("/api/market/ohlcv?symbol=FOO/USDT", "symbol", "unknown symbol 'FOO/USDT'")]
    [InlineData("/api/market/ohlcv?symbol=BTC-USDT", "symbol", "malformed symbol 'BTC-USDT'")]
    [InlineData("/api/market/ohlcv?symbol=BTC/USDT&timeframe=2m", "timeframe", "'2m' is not one of")]
    [InlineData("/api/market/ohlcv?symbol=BTC/USDT&limit=0", "limit", "from 1 to 1000")]
    [InlineData("/api/market/ohlcv?symbol=BTC/USDT&limit=1001", "limit", "from 1 to 1000")]
    [InlineData("/api/market/ohlcv?symbol=BTC/USDT&limit=abc", "limit", "from 1 to 1000")]
    [InlineData("/api/market/ohlcv?symbol=BTC/USDT&since=-1", "since", "Unix time in milliseconds")]
    [InlineData("/api/market/ohlcv?symbol=BTC/USDT&since=yesterday", "since", "Unix time in milliseconds")]
    public async Task Bad_input_is_a_400_naming_the_field(string url, string field, string reason)
    {
        using var response = await topology.Gateway.GetAsync(url, Cancel);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel)).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(reason, problem.GetProperty("errors").GetProperty(field)[0].GetString());
    }

    [Theory]
    [InlineData("error500", HttpStatusCode.BadGateway)]
    [InlineData("ratelimit429", HttpStatusCode.ServiceUnavailable)]
    [InlineData("timeout", HttpStatusCode.BadGateway)]
    [InlineData("malformed", HttpStatusCode.BadGateway)]
    public async Task Upstream_faults_have_their_status_and_a_system_notice(string mode, HttpStatusCode expected)
    {
        await using var events = await EventListener.StartAsync(topology);
        await SetFaultAsync(mode, "BNBUSDT");
        try
        {
            // Past the ticker cache window: the first answer that is not the cached ticker.
            using var response = await Eventually.UntilAsync(() => UncachedAnswerAsync("BNB/USDT"), "an answer for BNB/USDT past its cached ticker",
                TimeSpan.FromSeconds(10), cancellationToken: Cancel);

            Assert.Equal(expected, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            if (mode == "ratelimit429") Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After is set");
            var notice = (await events.WaitForAsync(e => e.GetProperty("type").GetString() == "system.notice")).Single();
            var data = notice.GetProperty("data");
            Assert.StartsWith("Ticker fetch error: ", data.GetProperty("message").GetString());
            Assert.True(DateTimeOffset.TryParse(data.GetProperty("ts").GetString(), out _));
            Assert.Equal(["message", "ts"], data.EnumerateObject().Select(p => p.Name));
        }
        finally
        {
            await topology.ClearFaultsAsync();
        }
    }

    [Fact]
    public async Task An_outage_does_not_flood_the_channel_with_notices()
    {
        await Task.Delay(TimeSpan.FromSeconds(3.1), Cancel); // past the notice interval of any earlier test
        await using var events = await EventListener.StartAsync(topology);
        await SetFaultAsync("error500", "BNBUSDT");
        try
        {
            for (var i = 0; i < 3; i++)
            {
                using var response = await topology.Gateway.GetAsync("/api/market/ohlcv?symbol=BNB/USDT&limit=2", Cancel);
                Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            }
            await Task.Delay(500, Cancel); // any more notices would arrive within this window

            // Only the notices of these requests: the Worker marking another test's idle BNB/USDT trade meanwhile asks the
            // same failing exchange for its ticker, and rightly says so in a "Ticker fetch error" notice of its own.
            var notice = Assert.Single(events.OfType("system.notice"),
                e => e.GetProperty("data").GetProperty("message").GetString()!.StartsWith("OHLCV fetch error: ", StringComparison.Ordinal));
            Assert.Contains("/api/v3/klines", notice.GetProperty("data").GetProperty("message").GetString());
        }
        finally
        {
            await topology.ClearFaultsAsync();
        }
    }

    [Fact]
    public async Task Concurrent_requests_are_coalesced_into_one_upstream_call()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        await topology.SetPriceAsync("ETH/USDT", 3500m);
        string[] queries = ["BTC/USDT,ETH/USDT", "ETH/USDT", "BTC/USDT", "ETH/USDT,BTC/USDT"];
        // Something else of the system (the Worker marking another test's idle BTC/USDT trades) may refresh these tickers
        // between the end of the cache window and the burst, which then costs no call at all: measured again when so.
        for (var attempt = 1; ; attempt++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1.1), Cancel); // the cache window ends: the next request goes upstream
            var before = await UpstreamCallsAsync();
            var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
                topology.Gateway.GetAsync($"/api/market/tickers?symbols={queries[i % queries.Length]}", Cancel)));

            Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            var calls = await UpstreamCallsAsync() - before;
            if (calls == 0 && attempt < 5) continue;
            Assert.Equal(1, calls);
            break;
        }
    }

    [Fact]
    public async Task The_binance_client_reads_the_simulator()
    {
        await topology.SetPriceAsync("SOL/USDT", 150.25m);
        var client = new BinanceClient(new HttpClient(), Options.Create(new BinanceOptions
        {
            BaseUrl = topology.UrlOf(ResourceNames.ExchangeSim),
        }), TimeProvider.System);

        var map = await client.GetSymbolsAsync(Cancel);
        Assert.True(map.TryGetExchangeSymbol("SOL/USDT", out var sol));
        var ticker = Assert.Single(await client.GetTickers24hAsync([sol], Cancel));
        var klines = await client.GetKlinesAsync(sol, "1m", 3, Cancel);
        var error = await Assert.ThrowsAsync<BinanceException>(() => client.GetKlinesAsync(sol, "7m", 3, Cancel));

        Assert.Equal(150.25m, ticker.LastPrice);
        Assert.Equal(150.24m, ticker.BidPrice);
        Assert.Equal(3, klines.Count);
        Assert.Equal(150.25m, klines[^1].Close);
        Assert.Equal(BinanceErrorKind.BadInterval, error.Kind);
    }

    private async Task<JsonElement> GetJsonAsync(string url)
    {
        using var response = await topology.Gateway.GetAsync(url, Cancel);
        var body = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    private async Task SetFaultAsync(string mode, params string[] symbols)
    {
        object fault = symbols.Length == 0 ? new { mode } : new { mode, symbols };
        using var response = await topology.Sim.PostAsJsonAsync("/sim/faults", fault, Cancel);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The market's answer for a symbol if it is not a ticker (a 200, from the cache while faults are set), else null.</summary>
    private async Task<HttpResponseMessage?> UncachedAnswerAsync(string symbol)
    {
        var response = await topology.Gateway.GetAsync($"/api/market/tickers?symbols={symbol}", Cancel);
        if (response.StatusCode != HttpStatusCode.OK) return response;
        response.Dispose();
        return null;
    }

    private async Task<int> UpstreamCallsAsync()
    {
        using var stats = JsonDocument.Parse(await topology.Sim.GetStringAsync("/sim/stats", Cancel));
        return stats.RootElement.GetProperty("requests").TryGetProperty("/api/v3/ticker/24hr", out var count) ? count.GetInt32() : 0;
    }
}
