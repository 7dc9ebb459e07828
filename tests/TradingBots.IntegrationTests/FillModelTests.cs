using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>
/// Fills a real exchange would make, end to end through the gateway against ExchangeSim: an account's fill model (its
/// bot's knobs), slippage and the exchange's filters, with figures derived by hand.
/// </summary>
public sealed class FillModelTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>Three levels a side around 3,500: 0.5 + 1.0 + 2.0 = 3.5 ETH each.</summary>
    private const string Book = """
        {"bids": [[3499.9, 0.5], [3499.8, 1.0], [3499.0, 2.0]], "asks": [[3500.0, 0.5], [3500.1, 1.0], [3500.5, 2.0]]}
        """;

    [Fact]
    public async Task The_book_model_walks_three_levels_for_the_exact_volume_weighted_price_and_fee()
    {
        await using var pinned = await PinBookAsync("ETHUSDT");
        var bot = await topology.CreateBotAsync("""{"fill_model": "book", "fee_rate": 0.001}""", ["ETH/USDT"]);

        // A buy of 2 ETH takes 0.5 at 3500.0, 1.0 at 3500.1 and 0.5 at 3500.5: 1750 + 3500.1 + 1750.25 = 7000.35, so 3500.175
        // each; the fee is 0.1 % of 7000.35.
        var (bought, buy) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "ETH/USDT", side = "buy", type = "market", base_qty = 2.0 });
        Assert.Equal(HttpStatusCode.Created, bought.StatusCode);
        var order = buy.GetProperty("order");
        Assert.Equal((2.0m, 3500.175m, 7000.35m, 7.00035m), (order.GetProperty("amount").GetDecimal(), order.GetProperty("price").GetDecimal(),
            order.GetProperty("quote_amount").GetDecimal(), order.GetProperty("fee_quote").GetDecimal()));

        // Selling them takes the bids: 0.5 at 3499.9, 1.0 at 3499.8, 0.5 at 3499.0: 1749.95 + 3499.8 + 1749.5 = 6999.25 (3499.625
        // each), fee 6.99925; realized 6999.25 − 7000.35 − 7.00035 − 6.99925 = −15.0996.
        var (sold, sell) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "ETH/USDT", side = "sell", type = "market" });
        Assert.Equal(HttpStatusCode.Created, sold.StatusCode);
        Assert.Equal((3499.625m, 6999.25m, 6.99925m), (sell.GetProperty("order").GetProperty("price").GetDecimal(),
            sell.GetProperty("order").GetProperty("quote_amount").GetDecimal(), sell.GetProperty("order").GetProperty("fee_quote").GetDecimal()));
        var trade = buy.GetProperty("trade_id").GetInt64();
        Assert.Equal(-15.0996m, await topology.ScalarAsync($"SELECT realized_pnl_quote FROM trades WHERE id = {trade} AND status = 'closed'"));
    }

    [Fact]
    public async Task The_market_serves_the_pinned_book_and_the_symbols_rules_in_ccxts_shapes()
    {
        await using var pinned = await PinBookAsync("ETHUSDT");

        var book = await topology.GetJsonAsync("/api/market/orderbook?symbol=ETH/USDT&limit=2");
        var markets = await topology.GetJsonAsync("/api/market/markets?symbols=BTC/USDT");

        Assert.Equal("[[3499.9,0.5],[3499.8,1]]", book.GetProperty("bids").GetRawText());
        Assert.Equal("[[3500,0.5],[3500.1,1]]", book.GetProperty("asks").GetRawText());
        Assert.Equal("ETH/USDT", book.GetProperty("symbol").GetString());
        Assert.Equal("""
            {"symbol":"BTC/USDT","id":"BTCUSDT","base":"BTC","quote":"USDT","precision":{"amount":0.00001,"price":0.01},"limits":{"amount":{"min":0.00001,"max":9000},"market":{"min":0,"max":900},"price":{"min":0.01,"max":10000000},"cost":{"min":5,"max":9000000}},"min_notional_applies_to_market":true,"max_notional_applies_to_market":false}
            """, markets.GetProperty("BTC/USDT").GetRawText());
    }

    [Fact]
    public async Task An_order_larger_than_the_book_is_a_422_saying_so_and_writes_nothing()
    {
        await using var pinned = await PinBookAsync("ETHUSDT");
        var bot = await topology.CreateBotAsync("""{"fill_model": "book"}""", ["ETH/USDT"]);

        var (response, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "ETH/USDT", side = "buy", type = "market", base_qty = 3.6 });

        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        Assert.Equal(["larger than the order book: its 3 ask levels hold 3.5 ETH"], Errors(body, "base_qty"));
        Assert.Equal(0, await topology.CountAsync("orders", bot));
    }

    [Fact]
    public async Task The_bidask_model_buys_at_the_ask_and_sells_at_the_bid()
    {
        await using var pinned = await PinBookAsync("ETHUSDT");
        var bot = await topology.CreateBotAsync("""{"fill_model": "bidask", "fee_rate": 0}""", ["ETH/USDT"]);

        var (_, buy) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "ETH/USDT", side = "buy", type = "market", quote_amount = 350 });
        var (_, sell) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "ETH/USDT", side = "sell", type = "market" });

        // 350 at the ask 3500.0 buys 0.1 ETH; sold at the bid 3499.9 it brings 349.99.
        Assert.Equal((3500.0m, 0.1m), (buy.GetProperty("order").GetProperty("price").GetDecimal(), buy.GetProperty("order").GetProperty("amount").GetDecimal()));
        Assert.Equal((3499.9m, 349.99m), (sell.GetProperty("order").GetProperty("price").GetDecimal(), sell.GetProperty("order").GetProperty("quote_amount").GetDecimal()));
    }

    [Fact]
    public async Task Under_exchange_rules_a_buy_is_on_the_step_and_the_tick_with_its_slippage()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000.37m);
        var bot = await topology.CreateBotAsync("""{"exchange_rules": true, "slippage_bps": 3, "fee_rate": 0.001}""");

        var (response, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 100 });

        // 100000.37 slipped 3 bps up is 100030.370111, up to the tick 0.01: 100030.38; 100 of it is 0.00099969… BTC, down to the
        // step 0.00001: 0.00099, costing 0.00099 × 100030.38 = 99.0300762, fee 0.0990300762.
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var order = body.GetProperty("order");
        Assert.Equal((100030.38m, 0.00099m, 99.0300762m, 0.0990300762m), (order.GetProperty("price").GetDecimal(), order.GetProperty("amount").GetDecimal(),
            order.GetProperty("quote_amount").GetDecimal(), order.GetProperty("fee_quote").GetDecimal()));
    }

    [Theory]
    [InlineData("quote_amount", 4, "NOTIONAL: value 4 is under the minimum notional 5")]
    [InlineData("base_qty", 0.000009, "LOT_SIZE: quantity 0 is under the minimum 0.00001 (step 0.00001)")]
    public async Task Under_exchange_rules_an_order_under_a_filter_is_a_422_naming_it_and_writes_nothing(string field, double amount, string reason)
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync("""{"exchange_rules": true}""");
        var order = new Dictionary<string, object> { ["bot_id"] = bot, ["symbol"] = "BTC/USDT", ["side"] = "buy", ["type"] = "market", [field] = (decimal)amount };

        var (response, body) = await topology.PostOrderAsync(order);

        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        Assert.Equal([reason], Errors(body, field));
        Assert.Equal(0, await topology.CountAsync("orders", bot));
        Assert.Equal(0, await topology.CountAsync("trades", bot));
    }

    [Fact]
    public async Task A_running_bots_stop_loss_closes_its_trade_at_the_first_tick_price_at_or_below_the_stop()
    {
        await topology.SetPriceAsync("SOL/USDT", 150m);
        await using var events = await EventListener.StartAsync(topology);
        // slow 1000: the strategy never has candles enough to decide; only the stop acts.
        var bot = await topology.CreateBotAsync("""{"slow": 1000, "tick_seconds": 1, "stop_loss_pct": 5, "fee_rate": 0}""", ["SOL/USDT"]);
        var (bought, buy) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "SOL/USDT", side = "buy", type = "market", quote_amount = 150 });
        Assert.Equal(HttpStatusCode.Created, bought.StatusCode);
        var trade = buy.GetProperty("trade_id").GetInt64(); // 1 SOL at 150: its stop is 150 × 0.95 = 142.5
        try
        {
            var (started, _) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            await topology.SetPriceAsync("SOL/USDT", 142.51m);
            // Ticks at 142.51, above the stop: marked, not closed.
            await events.WaitForAsync(e => e.GetProperty("type").GetString() == "trade.updated" && e.GetProperty("data").GetProperty("trade_id").GetInt64() == trade
                && e.GetProperty("data").GetProperty("price").GetDecimal() == 142.51m, count: 2, seconds: 20);
            Assert.Equal("open", await topology.ScalarAsync($"SELECT status FROM trades WHERE id = {trade}"));

            await topology.SetPriceAsync("SOL/USDT", 142.5m);

            var closed = (await events.WaitForAsync(e => e.GetProperty("type").GetString() == "trade.closed" && e.GetProperty("data").GetProperty("trade_id").GetInt64() == trade,
                seconds: 10))[0].GetProperty("data");
            // Sold at that tick's price, 142.5: 1 × 142.5 − 150 = −7.5.
            Assert.Equal((142.5m, -7.5m), (closed.GetProperty("price").GetDecimal(), closed.GetProperty("realized_pnl_quote").GetDecimal()));
        }
        finally
        {
            (await topology.PostJsonAsync($"/api/bots/{bot}/stop")).Response.Dispose();
        }
    }

    private static IEnumerable<string?> Errors(JsonElement problem, string field) =>
        problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(e => e.GetString());

    /// <summary>Pins <see cref="Book"/> on the simulator until disposed, once the market's ticker shows its best bid and ask.</summary>
    private async Task<IAsyncDisposable> PinBookAsync(string exchangeSymbol)
    {
        using var put = await topology.Sim.PutAsync($"/sim/books/{exchangeSymbol}", new StringContent(Book, System.Text.Encoding.UTF8, "application/json"), Cancel);
        put.EnsureSuccessStatusCode();
        var unified = exchangeSymbol[..^4] + "/USDT";
        await Eventually.UntilAsync(async () =>
        {
            var ticker = (await topology.GetJsonAsync($"/api/market/tickers?symbols={Uri.EscapeDataString(unified)}")).GetProperty(unified);
            return ticker.GetProperty("bid").GetDecimal() == 3499.9m && ticker.GetProperty("ask").GetDecimal() == 3500.0m;
        }, $"the market serves {unified}'s pinned book", TimeSpan.FromSeconds(10), cancellationToken: Cancel);
        return new Unpin(topology, exchangeSymbol);
    }

    private sealed class Unpin(TopologyFixture topology, string exchangeSymbol) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => (await topology.Sim.DeleteAsync($"/sim/books/{exchangeSymbol}", Cancel)).Dispose();
    }
}
