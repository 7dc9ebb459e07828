using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TradingBots.Binance;
using TradingBots.Market;

namespace TradingBots.UnitTests;

/// <summary>
/// Symbol filters end to end inside the test process: ExchangeSim's exchangeInfo read by the typed client into
/// <see cref="SymbolFilters"/>, and the Market service's /market/markets in ccxt's market shape.
/// </summary>
public sealed class ExchangeRulesDataTests
{
    // ExchangeSim's BTCUSDT: tick 0.01, step 0.00001, max price 100x its base (100,000), max qty 900M / base price,
    // market max qty a tenth of that, NOTIONAL 5 .. 9M with the min applied to MARKET orders.
    private static readonly SymbolFilters SimBtc = new()
    {
        MinPrice = 0.01m, MaxPrice = 10_000_000m, TickSize = 0.01m,
        MinQty = 0.00001m, MaxQty = 9_000m, StepSize = 0.00001m,
        MarketMinQty = 0m, MarketMaxQty = 900m, MarketStepSize = 0m,
        NotionalMin = 5m, NotionalApplyMinToMarket = true, NotionalMax = 9_000_000m, NotionalApplyMaxToMarket = false,
    };

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_client_reads_each_symbols_filters_from_the_simulators_exchange_info()
    {
        await using var sim = await SimHost.StartAsync();

        var map = await sim.Client().GetSymbolsAsync(Cancel);

        Assert.Equal(SimBtc, map.FiltersOf("BTCUSDT"));
        Assert.True(map.TryGetSymbol("ETHBTC", out var ethBtc));
        Assert.Equal(("ETH/BTC", 0.00001m, 0.0001m, 0.0001m), (ethBtc.Unified, ethBtc.Filters.TickSize, ethBtc.Filters.StepSize, ethBtc.Filters.NotionalMin));
        Assert.Null(ethBtc.Filters.MinNotional);
        Assert.Equal(6, map.Symbols.Count);
        Assert.Null(map.FiltersOf("DOGEUSDT"));
    }

    [Fact]
    public async Task Market_lists_a_market_in_ccxts_shape()
    {
        await using var sim = await SimHost.StartAsync();
        await using var market = await MarketHost.StartAsync(sim);

        Assert.Equal(
            """{"BTC/USDT":{"symbol":"BTC/USDT","id":"BTCUSDT","base":"BTC","quote":"USDT","precision":{"amount":0.00001,"price":0.01},"limits":{"amount":{"min":0.00001,"max":9000},"market":{"min":0,"max":900},"price":{"min":0.01,"max":10000000},"cost":{"min":5,"max":9000000}},"min_notional_applies_to_market":true,"max_notional_applies_to_market":false}}""",
            await market.Http.GetStringAsync("/market/markets?symbols=BTC/USDT", Cancel));
    }

    [Fact]
    public async Task Market_lists_the_markets_asked_for_or_every_one()
    {
        await using var sim = await SimHost.StartAsync();
        await using var market = await MarketHost.StartAsync(sim);

        using var two = await market.GetJsonAsync("/market/markets?symbols=ETH/BTC,%20SOL/USDT,ETH/BTC");
        using var all = await market.GetJsonAsync("/market/markets");

        Assert.Equal(["ETH/BTC", "SOL/USDT"], two.RootElement.EnumerateObject().Select(m => m.Name));
        Assert.Equal("ETHBTC", two.RootElement.GetProperty("ETH/BTC").GetProperty("id").GetString());
        Assert.Equal(0.001m, two.RootElement.GetProperty("SOL/USDT").GetProperty("precision").GetProperty("amount").GetDecimal());
        Assert.Equal(["BNB/USDT", "BTC/USDT", "ETH/BTC", "ETH/USDT", "SOL/USDT", "XRP/USDT"], all.RootElement.EnumerateObject().Select(m => m.Name));
    }

    [Theory]
    [InlineData("BTC/USDT,DOGE/USDT")]
    [InlineData("btc/usdt")]
    [InlineData("BTCUSDT")]
    public async Task Market_refuses_unknown_or_malformed_symbols_naming_the_field(string symbols)
    {
        await using var sim = await SimHost.StartAsync();
        await using var market = await MarketHost.StartAsync(sim);

        using var response = await market.Http.GetAsync($"/market/markets?symbols={symbols}", Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal(["symbols"], problem.GetProperty("errors").EnumerateObject().Select(e => e.Name));
    }

    [Fact]
    public void A_market_without_filters_has_null_rules()
    {
        var market = MarketInfo.From(new BinanceSymbol("NEWUSDT", "TRADING", "NEW", "USDT"));

        Assert.Equal(new MarketInfo("NEW/USDT", "NEWUSDT", "NEW", "USDT", new MarketPrecision(null, null),
            new MarketLimits(new MinMax(null, null), new MinMax(null, null), new MinMax(null, null), new MinMax(null, null)), false, false), market);
    }

    [Theory]
    // NOTIONAL, Binance's current filter, gives the cost range and whether its min binds MARKET orders.
    [InlineData(10.0, true, 1000.0, null, null, 10.0, 1000.0, true)]
    [InlineData(10.0, false, null, null, null, 10.0, null, false)]
    // Where both are listed, NOTIONAL wins; MIN_NOTIONAL, the older filter, counts only on a symbol without NOTIONAL.
    [InlineData(10.0, false, 1000.0, 7.0, true, 10.0, 1000.0, false)]
    [InlineData(null, null, null, 7.0, true, 7.0, null, true)]
    [InlineData(null, null, null, 7.0, false, 7.0, null, false)]
    public void The_cost_limits_come_from_notional_else_min_notional(
        double? notionalMin, bool? applyMin, double? notionalMax, double? minNotional, bool? applyToMarket,
        double? costMin, double? costMax, bool appliesToMarket)
    {
        var symbol = new BinanceSymbol("NEWUSDT", "TRADING", "NEW", "USDT")
        {
            Filters = new SymbolFilters
            {
                NotionalMin = (decimal?)notionalMin, NotionalApplyMinToMarket = applyMin, NotionalMax = (decimal?)notionalMax,
                MinNotional = (decimal?)minNotional, MinNotionalApplyToMarket = applyToMarket,
            },
        };

        var market = MarketInfo.From(symbol);

        Assert.Equal(new MinMax((decimal?)costMin, (decimal?)costMax), market.Limits.Cost);
        Assert.Equal(appliesToMarket, market.MinNotionalAppliesToMarket);
    }
}
