using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace TradingBots.IntegrationTests;

/// <summary>
/// The running exchange simulator over HTTP. It is shared with the other tests: pins touch only ETHBTC and faults
/// only XRPUSDT, both restored in finally blocks, and nothing here resets the simulator.
/// </summary>
public sealed class ExchangeSimTests(TopologyFixture topology) : IDisposable
{
    private const string PinSymbol = "ETHBTC";
    private const string FaultSymbol = "XRPUSDT";
    private const string Decimal8 = @"^-?\d+\.\d{8}$";

    private static readonly string[] TickerFields =
    [
        "symbol", "priceChange", "priceChangePercent", "weightedAvgPrice", "prevClosePrice", "lastPrice", "lastQty",
        "bidPrice", "bidQty", "askPrice", "askQty", "openPrice", "highPrice", "lowPrice", "volume", "quoteVolume",
        "openTime", "closeTime", "firstId", "lastId", "count",
    ];

    private readonly HttpClient _http = new()
    {
        BaseAddress = new Uri(topology.UrlOf(ResourceNames.ExchangeSim)),
        Timeout = TimeSpan.FromSeconds(30),
    };

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ping_and_time_answer_like_binance_with_the_used_weight()
    {
        using var ping = await _http.GetAsync("/api/v3/ping", Cancel);
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
        Assert.Equal("{}", await ping.Content.ReadAsStringAsync(Cancel));
        Assert.True(int.Parse(ping.Headers.GetValues("X-MBX-USED-WEIGHT-1M").Single()) >= 1);

        var time = await GetJsonAsync("/api/v3/time");
        Assert.Equal(["serverTime"], time.EnumerateObject().Select(p => p.Name));
        Assert.InRange(time.GetProperty("serverTime").GetInt64(),
            DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Exchange_info_describes_the_symbols_with_their_filters()
    {
        var info = await GetJsonAsync("/api/v3/exchangeInfo");
        Assert.Equal(["timezone", "serverTime", "rateLimits", "exchangeFilters", "symbols"], info.EnumerateObject().Select(p => p.Name));
        Assert.Equal("UTC", info.GetProperty("timezone").GetString());
        var symbols = info.GetProperty("symbols").EnumerateArray().ToList();
        Assert.Subset(symbols.Select(s => s.GetProperty("symbol").GetString()!).ToHashSet(),
            new HashSet<string> { "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT" });

        var btc = symbols.Single(s => s.GetProperty("symbol").GetString() == "BTCUSDT");
        Assert.Equal("TRADING", btc.GetProperty("status").GetString());
        Assert.Equal(("BTC", "USDT"), (btc.GetProperty("baseAsset").GetString(), btc.GetProperty("quoteAsset").GetString()));
        foreach (var field in new[] { "baseAssetPrecision", "quotePrecision", "quoteAssetPrecision" })
            Assert.Equal(8, btc.GetProperty(field).GetInt32());
        Assert.Contains("MARKET", btc.GetProperty("orderTypes").EnumerateArray().Select(t => t.GetString()));
        var filters = btc.GetProperty("filters").EnumerateArray().ToDictionary(f => f.GetProperty("filterType").GetString()!);
        Assert.Equal("0.01000000", filters["PRICE_FILTER"].GetProperty("tickSize").GetString());
        Assert.Equal("0.00001000", filters["LOT_SIZE"].GetProperty("stepSize").GetString());

        var one = await GetJsonAsync("/api/v3/exchangeInfo?symbol=ETHUSDT");
        Assert.Equal(["ETHUSDT"], one.GetProperty("symbols").EnumerateArray().Select(s => s.GetProperty("symbol").GetString()));
        var two = await GetJsonAsync("/api/v3/exchangeInfo?symbols=" + Uri.EscapeDataString("""["BNBUSDT","SOLUSDT"]"""));
        Assert.Equal(["BNBUSDT", "SOLUSDT"], two.GetProperty("symbols").EnumerateArray().Select(s => s.GetProperty("symbol").GetString()));

        await AssertBinanceErrorAsync("/api/v3/exchangeInfo?symbol=NOPEUSDT", -1121, "Invalid symbol.");
    }

    [Fact]
    public async Task Ticker_price_answers_one_some_or_all_symbols()
    {
        var one = await GetJsonAsync("/api/v3/ticker/price?symbol=BTCUSDT");
        Assert.Equal(["symbol", "price"], one.EnumerateObject().Select(p => p.Name));
        Assert.Equal("BTCUSDT", one.GetProperty("symbol").GetString());
        Assert.Matches(Decimal8, one.GetProperty("price").GetString());

        var some = await GetJsonAsync("/api/v3/ticker/price?symbols=" + Uri.EscapeDataString("""["ETHUSDT","BTCUSDT"]"""));
        Assert.Equal(["ETHUSDT", "BTCUSDT"], some.EnumerateArray().Select(t => t.GetProperty("symbol").GetString()));

        var all = await GetJsonAsync("/api/v3/ticker/price");
        Assert.True(all.GetArrayLength() >= 4);
        Assert.All(all.EnumerateArray(), t => Assert.Matches(Decimal8, t.GetProperty("price").GetString()));

        await AssertBinanceErrorAsync("/api/v3/ticker/price?symbol=NOPEUSDT", -1121, "Invalid symbol.");
    }

    [Fact]
    public async Task Ticker_24hr_has_every_binance_field_with_binance_types()
    {
        var ticker = await GetJsonAsync("/api/v3/ticker/24hr?symbol=BTCUSDT");
        Assert.Equal(TickerFields, ticker.EnumerateObject().Select(p => p.Name));
        foreach (var field in TickerFields[1..16].Except(["priceChangePercent"]))
            Assert.Matches(Decimal8, ticker.GetProperty(field).GetString());
        Assert.Matches(@"^-?\d+\.\d{3}$", ticker.GetProperty("priceChangePercent").GetString());
        foreach (var field in TickerFields[16..])
            Assert.Equal(JsonValueKind.Number, ticker.GetProperty(field).ValueKind);

        var (open, close) = (ticker.GetProperty("openTime").GetInt64(), ticker.GetProperty("closeTime").GetInt64());
        Assert.InRange(close - open, 86_400_000, 86_401_000);
        var last = Price(ticker, "lastPrice");
        Assert.Equal(last - 0.01m, Price(ticker, "bidPrice"));
        Assert.Equal(last + 0.01m, Price(ticker, "askPrice"));
        Assert.True(Price(ticker, "highPrice") >= Math.Max(last, Price(ticker, "openPrice")));
        Assert.True(Price(ticker, "lowPrice") <= Math.Min(last, Price(ticker, "openPrice")));
        Assert.Equal(ticker.GetProperty("lastId").GetInt64() - ticker.GetProperty("firstId").GetInt64() + 1,
            ticker.GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task Ticker_24hr_answers_lists_and_all_and_rejects_bad_lists()
    {
        var two = await GetJsonAsync("/api/v3/ticker/24hr?symbols=" + Uri.EscapeDataString("""["BTCUSDT","ETHUSDT"]"""));
        Assert.Equal(["BTCUSDT", "ETHUSDT"], two.EnumerateArray().Select(t => t.GetProperty("symbol").GetString()));
        Assert.All(two.EnumerateArray(), t => Assert.Equal(TickerFields, t.EnumerateObject().Select(p => p.Name)));

        var all = await GetJsonAsync("/api/v3/ticker/24hr");
        Assert.True(all.GetArrayLength() >= 4);

        await AssertBinanceErrorAsync("/api/v3/ticker/24hr?symbols=BTCUSDT", -1100);
        await AssertBinanceErrorAsync("/api/v3/ticker/24hr?symbols=" + Uri.EscapeDataString("""["BTCUSDT","""), -1100);
        await AssertBinanceErrorAsync("/api/v3/ticker/24hr?symbols=" + Uri.EscapeDataString("""["BTCUSDT","NOPEUSDT"]"""),
            -1121, "Invalid symbol.");
        await AssertBinanceErrorAsync("/api/v3/ticker/24hr?symbol=NOPEUSDT", -1121, "Invalid symbol.");
    }

    [Fact]
    public async Task Klines_are_binance_arrays_of_consistent_candles()
    {
        var klines = await GetJsonAsync("/api/v3/klines?symbol=BTCUSDT&interval=1m");
        Assert.Equal(500, klines.GetArrayLength());
        var rows = klines.EnumerateArray().ToList();
        foreach (var row in rows)
        {
            Assert.Equal(12, row.GetArrayLength());
            Assert.Equal([JsonValueKind.Number, .. Enumerable.Repeat(JsonValueKind.String, 5), JsonValueKind.Number,
                JsonValueKind.String, JsonValueKind.Number, JsonValueKind.String, JsonValueKind.String, JsonValueKind.String],
                row.EnumerateArray().Select(v => v.ValueKind));
            var (open, high, low, close) = (Price(row[1]), Price(row[2]), Price(row[3]), Price(row[4]));
            Assert.True(high >= Math.Max(open, close) && low <= Math.Min(open, close));
            Assert.Equal(row[0].GetInt64() + 59_999, row[6].GetInt64());
            Assert.Equal("0", row[11].GetString());
        }
        for (var i = 1; i < rows.Count; i++)
        {
            Assert.Equal(rows[i - 1][4].GetString(), rows[i][1].GetString());
            Assert.Equal(rows[i - 1][6].GetInt64() + 1, rows[i][0].GetInt64());
        }

        var thousand = await GetJsonAsync("/api/v3/klines?symbol=ETHUSDT&interval=1w&limit=1000");
        Assert.Equal(1000, thousand.GetArrayLength());

        var start = rows[10][0].GetInt64();
        var window = await GetJsonAsync($"/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime={start}&endTime={start + 4 * 60_000}&limit=10");
        Assert.Equal(5, window.GetArrayLength());
        Assert.Equal(start, window[0][0].GetInt64());
    }

    [Fact]
    public async Task Klines_reject_bad_parameters_with_binance_errors()
    {
        await AssertBinanceErrorAsync("/api/v3/klines?symbol=BTCUSDT&interval=2m", -1120, "Invalid interval.");
        await AssertBinanceErrorAsync("/api/v3/klines?symbol=NOPEUSDT&interval=1m", -1121, "Invalid symbol.");
        await AssertBinanceErrorAsync("/api/v3/klines?interval=1m", -1102);
        await AssertBinanceErrorAsync("/api/v3/klines?symbol=BTCUSDT", -1102);
        await AssertBinanceErrorAsync("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1001", -1130);
        await AssertBinanceErrorAsync("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=0", -1130);
        await AssertBinanceErrorAsync("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=ten", -1100);
    }

    [Fact]
    public async Task A_pinned_price_shows_everywhere_until_pinned_again()
    {
        var original = (await GetJsonAsync("/sim/prices")).GetProperty(PinSymbol).GetDecimal();
        try
        {
            using var put = await _http.PutAsJsonAsync($"/sim/prices/{PinSymbol}", new { price = 0.05m }, Cancel);
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var body = await ReadJsonAsync(put);
            Assert.Equal(PinSymbol, body.GetProperty("symbol").GetString());
            Assert.Equal(0.05m, body.GetProperty("price").GetDecimal());

            Assert.Equal(0.05m, (await GetJsonAsync("/sim/prices")).GetProperty(PinSymbol).GetDecimal());
            Assert.Equal("0.05000000", (await GetJsonAsync($"/api/v3/ticker/price?symbol={PinSymbol}")).GetProperty("price").GetString());
            var ticker = await GetJsonAsync($"/api/v3/ticker/24hr?symbol={PinSymbol}");
            Assert.Equal(("0.05000000", "0.04999000", "0.05001000"), (ticker.GetProperty("lastPrice").GetString(),
                ticker.GetProperty("bidPrice").GetString(), ticker.GetProperty("askPrice").GetString()));
            var klines = await GetJsonAsync($"/api/v3/klines?symbol={PinSymbol}&interval=1m&limit=3");
            Assert.Equal("0.05000000", klines[2][4].GetString());

            // It holds as time passes.
            await Task.Delay(1_100, Cancel); // past the next second, when an unpinned price would move
            Assert.Equal(0.05m, (await GetJsonAsync("/sim/prices")).GetProperty(PinSymbol).GetDecimal());
        }
        finally
        {
            using var restore = await _http.PutAsJsonAsync($"/sim/prices/{PinSymbol}", new { price = original }, CancellationToken.None);
        }
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"price":0}""")]
    [InlineData("""{"price":-1}""")]
    [InlineData("""{"price":"abc"}""")]
    [InlineData("not json")]
    public async Task A_bad_price_is_a_problem_naming_the_price(string json)
    {
        using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var response = await _http.PutAsync($"/sim/prices/{PinSymbol}", content, Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True((await ReadJsonAsync(response)).GetProperty("errors").TryGetProperty("price", out _));
    }

    [Fact]
    public async Task Pinning_an_unknown_symbol_is_not_found()
    {
        using var response = await _http.PutAsJsonAsync("/sim/prices/NOPEUSDT", new { price = 1 }, Cancel);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Faults_hit_the_faulted_symbol_only_until_cleared()
    {
        var ticker = $"/api/v3/ticker/24hr?symbol={FaultSymbol}";
        try
        {
            await SetFaultAsync("error500");
            using (var error = await _http.GetAsync(ticker, Cancel))
            {
                Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
                Assert.Equal(-1000, (await ReadJsonAsync(error)).GetProperty("code").GetInt32());
            }
            using (var klines = await _http.GetAsync($"/api/v3/klines?symbol={FaultSymbol}&interval=1m", Cancel))
                Assert.Equal(HttpStatusCode.InternalServerError, klines.StatusCode);
            using (var other = await _http.GetAsync("/api/v3/ticker/24hr?symbol=BTCUSDT", Cancel))
                Assert.Equal(HttpStatusCode.OK, other.StatusCode);
            // A request for every symbol includes the faulted one.
            using (var all = await _http.GetAsync("/api/v3/ticker/price", Cancel))
                Assert.Equal(HttpStatusCode.InternalServerError, all.StatusCode);

            await SetFaultAsync("ratelimit429");
            using (var limited = await _http.GetAsync(ticker, Cancel))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
                Assert.Equal(TimeSpan.FromSeconds(2), limited.Headers.RetryAfter?.Delta);
                var body = await ReadJsonAsync(limited);
                Assert.Equal(-1003, body.GetProperty("code").GetInt32());
                Assert.StartsWith("Too many requests", body.GetProperty("msg").GetString());
            }

            await SetFaultAsync("malformed");
            using (var malformed = await _http.GetAsync(ticker, Cancel))
            {
                Assert.Equal(HttpStatusCode.OK, malformed.StatusCode);
                var text = await malformed.Content.ReadAsStringAsync(Cancel);
                Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(text));
            }

            await SetFaultAsync("timeout");
            using (var impatient = new HttpClient { BaseAddress = _http.BaseAddress, Timeout = TimeSpan.FromSeconds(2) })
            {
                var clock = Stopwatch.StartNew();
                await Assert.ThrowsAnyAsync<TaskCanceledException>(() => impatient.GetAsync(ticker, Cancel));
                Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.9), $"gave up after {clock.Elapsed}");
            }

            await SetFaultAsync("none");
            using var healthy = await _http.GetAsync(ticker, Cancel);
            Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
        }
        finally
        {
            await topology.ClearFaultsAsync();
        }
    }

    /// <summary>The latency fault answers rightly, late by its milliseconds; without them it is a problem naming latency_ms.</summary>
    [Fact]
    public async Task The_latency_fault_answers_late_by_its_milliseconds()
    {
        var ticker = $"/api/v3/ticker/price?symbol={FaultSymbol}";
        try
        {
            using (var missing = await _http.PostAsJsonAsync("/sim/faults", new { mode = "latency", symbols = new[] { FaultSymbol } }, Cancel))
            {
                Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
                Assert.True((await ReadJsonAsync(missing)).GetProperty("errors").TryGetProperty("latency_ms", out _));
            }
            using (var set = await _http.PostAsJsonAsync("/sim/faults", new { mode = "latency", latency_ms = 700, symbols = new[] { FaultSymbol } }, Cancel))
            {
                Assert.Equal(HttpStatusCode.OK, set.StatusCode);
                Assert.Equal("latency 700 ms", (await ReadJsonAsync(set)).GetProperty("faults").GetProperty(FaultSymbol).GetString());
            }
            var clock = Stopwatch.StartNew();
            using var late = await _http.GetAsync(ticker, Cancel);
            // .NET's timers count whole milliseconds, so a 700 ms wait may end up to 1 ms early.
            Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(699), $"answered after {clock.Elapsed.TotalMilliseconds:0.0} ms");
            Assert.Equal(HttpStatusCode.OK, late.StatusCode);
            Assert.Equal(FaultSymbol, (await ReadJsonAsync(late)).GetProperty("symbol").GetString());
        }
        finally
        {
            await topology.ClearFaultsAsync();
        }
    }

    [Theory]
    [InlineData("""{"mode":"explode","symbols":["XRPUSDT"]}""")]
    [InlineData("""{"symbols":["XRPUSDT"]}""")]
    [InlineData("""{"mode":5}""")]
    public async Task A_bad_fault_mode_is_a_problem_naming_the_mode(string json)
    {
        using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync("/sim/faults", content, Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await ReadJsonAsync(response)).GetProperty("errors").TryGetProperty("mode", out _));
    }

    [Fact]
    public async Task Stats_count_every_request_per_binance_path_faulted_ones_included()
    {
        var before = await RequestCountsAsync();
        using (await _http.GetAsync("/api/v3/klines?symbol=BTCUSDT&interval=1h&limit=5", Cancel)) { }
        using (await _http.GetAsync("/api/v3/klines?symbol=BTCUSDT&interval=bad", Cancel)) { }
        try
        {
            await SetFaultAsync("error500");
            using (await _http.GetAsync($"/api/v3/ticker/24hr?symbol={FaultSymbol}", Cancel)) { }
        }
        finally
        {
            await topology.ClearFaultsAsync();
        }
        var after = await RequestCountsAsync();

        Assert.True(after.GetValueOrDefault("/api/v3/klines") >= before.GetValueOrDefault("/api/v3/klines") + 2);
        Assert.True(after.GetValueOrDefault("/api/v3/ticker/24hr") >= before.GetValueOrDefault("/api/v3/ticker/24hr") + 1);
    }

    public void Dispose() => _http.Dispose();

    private async Task<Dictionary<string, long>> RequestCountsAsync() =>
        (await GetJsonAsync("/sim/stats")).GetProperty("requests").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());

    private async Task SetFaultAsync(string mode)
    {
        using var response = await _http.PostAsJsonAsync("/sim/faults", new { mode, symbols = new[] { FaultSymbol } }, CancellationToken.None);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task AssertBinanceErrorAsync(string path, int code, string? message = null)
    {
        using var response = await _http.GetAsync(path, Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await ReadJsonAsync(response);
        Assert.Equal(["code", "msg"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal(code, body.GetProperty("code").GetInt32());
        if (message is not null) Assert.Equal(message, body.GetProperty("msg").GetString());
    }

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await _http.GetAsync(path, Cancel);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Cancel)}");
        return await ReadJsonAsync(response);
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel)).RootElement;

    private static decimal Price(JsonElement value) => decimal.Parse(value.GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    private static decimal Price(JsonElement ticker, string field) => Price(ticker.GetProperty(field));
}
