using System.Net;
using System.Text.Json;
using Npgsql;

namespace TradingBots.IntegrationTests;

/// <summary>The paper execution engine through the gateway, with ExchangeSim prices pinned; exact figures throughout.</summary>
public sealed class TradingTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_bots_snapshots_are_its_newest_oldest_first_and_bad_asks_are_refused()
    {
        var bot = await topology.CreateBotAsync();
        Assert.Empty((await topology.GetJsonAsync($"/api/portfolio/{bot}/snapshots")).GetProperty("snapshots").EnumerateArray());
        await using (var connection = await topology.OpenDatabaseAsync())
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO portfolio_snapshots (bot_id, equity, cash, positions_value, "timestamp")
            VALUES (@bot, 10000, 10000, 0, '2026-02-23T04:00:00Z'), (@bot, 9999.9, 9899.9, 100, '2026-02-23T04:00:05Z'),
                   (@bot, 10000.02, 9899.9, 100.12, '2026-02-23T04:00:10Z')
            """, connection))
        {
            insert.Parameters.AddWithValue("bot", bot);
            await insert.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        var newest = (await topology.GetJsonAsync($"/api/portfolio/{bot}/snapshots?limit=2")).GetProperty("snapshots");
        Assert.Equal("""[{"equity":9999.9,"cash":9899.9,"positions_value":100,"timestamp":"2026-02-23T04:00:05+00:00"},"""
            + """{"equity":10000.02,"cash":9899.9,"positions_value":100.12,"timestamp":"2026-02-23T04:00:10+00:00"}]""", newest.GetRawText());

        using var bad = await topology.Gateway.GetAsync($"/portfolio/{bot}/snapshots?limit=0", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("\"limit\"", await bad.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        using var unknown = await topology.Gateway.GetAsync("/portfolio/999999999/snapshots", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Buy_by_quote_amount_with_the_default_fee()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        await using var events = await EventListener.StartAsync(topology);

        var (response, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 100 });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var order = body.GetProperty("order");
        var tradeId = body.GetProperty("trade_id").GetInt64();
        Assert.Equal(tradeId, order.GetProperty("trade_id").GetInt64());
        Assert.Equal(bot, order.GetProperty("bot_id").GetInt64());
        Assert.Equal(("buy", "market", "filled"), (order.GetProperty("side").GetString(), order.GetProperty("type").GetString(), order.GetProperty("status").GetString()));
        Assert.Equal(0.001m, order.GetProperty("amount").GetDecimal());
        Assert.Equal(100000m, order.GetProperty("price").GetDecimal());
        Assert.Equal(0.1m, order.GetProperty("fee_quote").GetDecimal());
        Assert.True(order.GetProperty("paper_mode").GetBoolean());

        var trade = await TradeRowAsync(tradeId);
        Assert.Equal(("open", 0.001m, 100000m, 100m, 0.1m), (trade.Status, trade.Amount, trade.Price, trade.CostBasis, trade.Fees));

        var opened = (await events.WaitForAsync(e => IsFor(e, "trade.opened", tradeId))).Single();
        var data = opened.GetProperty("data");
        Assert.Equal(["bot_id", "trade_id", "order_id", "symbol", "qty", "price", "cost_basis_quote", "fee_quote", "ts"],
            data.EnumerateObject().Select(p => p.Name));
        Assert.Equal(bot, data.GetProperty("bot_id").GetInt64());
        Assert.Equal(order.GetProperty("id").GetInt64(), data.GetProperty("order_id").GetInt64());
        Assert.Equal("BTC/USDT", data.GetProperty("symbol").GetString());
        Assert.Equal((0.001m, 100000m, 100m, 0.1m), (data.GetProperty("qty").GetDecimal(), data.GetProperty("price").GetDecimal(),
            data.GetProperty("cost_basis_quote").GetDecimal(), data.GetProperty("fee_quote").GetDecimal()));
        Assert.Matches(@"^\d{13}-\d+$", opened.GetProperty("id").GetString());

        var account = await topology.GetJsonAsync($"/api/portfolio/{bot}");
        Assert.Equal((9899.9m, 100m, 9999.9m), (account.GetProperty("cash").GetDecimal(), account.GetProperty("positions_value").GetDecimal(),
            account.GetProperty("equity").GetDecimal()));
        Assert.Equal(-0.1m, account.GetProperty("unrealized_pnl_quote").GetDecimal());
    }

    [Fact]
    public async Task Buy_by_base_qty_with_the_fee_rate_from_knobs()
    {
        await topology.SetPriceAsync("ETH/USDT", 2500m);
        var bot = await topology.CreateBotAsync("""{"fee_rate": 0.002}""");

        var (response, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "ETH/USDT", side = "buy", type = "market", base_qty = 0.4 });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var trade = await TradeRowAsync(body.GetProperty("trade_id").GetInt64());
        Assert.Equal((0.4m, 2500m, 1000m, 2m), (trade.Amount, trade.Price, trade.CostBasis, trade.Fees));
        Assert.Equal(2m, body.GetProperty("order").GetProperty("fee_quote").GetDecimal());
        Assert.Equal(8998m, (await topology.GetJsonAsync($"/api/portfolio/{bot}")).GetProperty("cash").GetDecimal());
    }

    [Fact]
    public async Task Insufficient_cash_is_refused_and_nothing_is_written()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync("""{"starting_cash": 100}""");
        await using var events = await EventListener.StartAsync(topology);

        var (response, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 100 });

        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        // Amounts in the wire's normalized form (never 100.100000000000).
        Assert.Equal("insufficient cash: the buy costs 100.1 (fee 0.1 included), the account has 100",
            body.GetProperty("errors").GetProperty("quote_amount")[0].GetString());
        await AssertNothingWrittenAsync(bot, events);
    }

    [Fact]
    public async Task A_sell_by_quote_amount_stores_a_quantity_rounded_like_a_buy()
    {
        await topology.SetPriceAsync("ETH/USDT", 2999m);
        var bot = await topology.CreateBotAsync();
        var trade = await BuyAsync(bot, "ETH/USDT", baseQty: 1m);

        var (response, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "ETH/USDT", side = "sell", type = "market", quote_amount = 100 });

        // 100 / 2999 = 0.0333444481493…: 0.033344448149 (12 places); proceeds 0.033344448149 × 2999 = 99.999999998851.
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var order = body.GetProperty("order");
        Assert.Equal((0.033344448149m, 99.999999998851m), (order.GetProperty("amount").GetDecimal(), order.GetProperty("quote_amount").GetDecimal()));
        await using var connection = await topology.OpenDatabaseAsync();
        await using var sold = new NpgsqlCommand("SELECT amount::text, base_qty::text FROM orders WHERE trade_id = @t AND side = 'sell'", connection);
        sold.Parameters.AddWithValue("t", trade);
        await using (var reader = await sold.ExecuteReaderAsync(Cancel))
        {
            Assert.True(await reader.ReadAsync(Cancel));
            Assert.Equal(("0.033344448149", "0.033344448149"), (reader.GetString(0), reader.GetString(1)));
        }
        Assert.Equal(0.966655551851m, (await TradeRowAsync(trade)).Amount);
    }

    [Fact]
    public async Task Valuations_are_rounded_to_twelve_places()
    {
        await topology.SetPriceAsync("BTC/USDT", 103394.4m);
        var bot = await topology.CreateBotAsync();
        await BuyAsync(bot, "BTC/USDT", baseQty: 0.000967170369m);   // quote 100.000000000534, fee 0.100000000001
        await topology.SetPriceAsync("BTC/USDT", 103438.3m);

        var account = await topology.GetJsonAsync($"/api/portfolio/{bot}");

        // 0.000967170369 × 103438.3 = 100.0424587797327 → 100.042458779733; cash 10000 − 100.000000000534 − 0.100000000001.
        Assert.Equal((9899.899999999465m, 100.042458779733m, 9999.942458779198m, -0.057541220802m),
            (account.GetProperty("cash").GetDecimal(), account.GetProperty("positions_value").GetDecimal(),
             account.GetProperty("equity").GetDecimal(), account.GetProperty("unrealized_pnl_quote").GetDecimal()));
        Assert.Equal(100.042458779733m, account.GetProperty("positions")[0].GetProperty("value").GetDecimal());
    }

    [Fact]
    public async Task Event_timestamps_on_the_channel_are_the_specs_iso_form_byte_for_byte()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        await using var events = await EventListener.StartAsync(topology);

        var trade = await BuyAsync(bot, "BTC/USDT", quoteAmount: 100m);

        await events.WaitForAsync(e => IsFor(e, "trade.opened", trade));
        var raw = events.Raw.Single(r => r.Contains($"\"trade_id\":{trade},", StringComparison.Ordinal));
        var ts = System.Text.RegularExpressions.Regex.Match(raw, "\"ts\":\"([^\"]*)\"}}$");
        Assert.True(ts.Success, raw);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$", ts.Groups[1].Value);
        Assert.DoesNotContain("\\u", raw);
        Assert.EndsWith($"\"symbol\":\"BTC/USDT\",\"qty\":0.001,\"price\":100000,\"cost_basis_quote\":100,\"fee_quote\":0.1,\"ts\":\"{ts.Groups[1].Value}\"}}}}", raw);
    }

    [Fact]
    public async Task Partial_and_full_sells_oldest_first_with_exact_pnl()
    {
        var bot = await topology.CreateBotAsync();
        await using var events = await EventListener.StartAsync(topology);
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var first = await BuyAsync(bot, "BTC/USDT", baseQty: 0.002m);      // cost 200, fee 0.2
        await topology.SetPriceAsync("BTC/USDT", 110000m);
        var second = await BuyAsync(bot, "BTC/USDT", baseQty: 0.001m);     // cost 110, fee 0.11

        await topology.SetPriceAsync("BTC/USDT", 120000m);
        var (response, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "sell", type = "market", base_qty = 0.0025 });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var fills = body.GetProperty("orders").EnumerateArray().ToList();
        Assert.Equal([first, second], fills.Select(o => o.GetProperty("trade_id").GetInt64()));
        Assert.Equal([0.002m, 0.0005m], fills.Select(o => o.GetProperty("amount").GetDecimal()));
        Assert.Equal([0.24m, 0.06m], fills.Select(o => o.GetProperty("fee_quote").GetDecimal()));
        // The oldest trade is closed: 240 − 200 − (0.2 + 0.24) = 39.56.
        var closed = await TradeRowAsync(first);
        Assert.Equal(("closed", 39.56m, 39.56m, 0.44m, 0m), (closed.Status, closed.Realized, closed.Pnl, closed.Fees, closed.Unrealized));
        Assert.NotNull(closed.ClosedAt);
        // The newer one is sold in part: 0.0005 left with half its cost basis (55); fees so far 0.17.
        var partial = await TradeRowAsync(second);
        Assert.Equal(("open", 0.0005m, 55m, 0.17m, 5m), (partial.Status, partial.Amount, partial.CostBasis, partial.Fees, partial.Realized));
        Assert.Equal(0.0005m * 120000m - 55m - 0.17m, partial.Unrealized);

        await topology.SetPriceAsync("BTC/USDT", 100000m);
        (response, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "sell", type = "market" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        // Fully closed: total proceeds (60 + 50) − original cost basis 110 − all fees (0.11 + 0.06 + 0.05) = −0.22.
        var last = await TradeRowAsync(second);
        Assert.Equal(("closed", 0m, -0.22m, 0.22m), (last.Status, last.Unrealized, last.Realized, last.Fees));

        var closedEvents = await events.WaitForAsync(e => e.GetProperty("type").GetString() == "trade.closed"
            && e.GetProperty("data").GetProperty("bot_id").GetInt64() == bot, count: 2);
        var firstClosed = closedEvents[0].GetProperty("data");
        Assert.Equal(["bot_id", "trade_id", "order_id", "symbol", "price", "realized_pnl_quote", "fees_paid_quote", "ts"],
            firstClosed.EnumerateObject().Select(p => p.Name));
        Assert.Equal((first, 120000m, 39.56m, 0.44m), (firstClosed.GetProperty("trade_id").GetInt64(), firstClosed.GetProperty("price").GetDecimal(),
            firstClosed.GetProperty("realized_pnl_quote").GetDecimal(), firstClosed.GetProperty("fees_paid_quote").GetDecimal()));
        Assert.Equal((second, -0.22m), (closedEvents[1].GetProperty("data").GetProperty("trade_id").GetInt64(),
            closedEvents[1].GetProperty("data").GetProperty("realized_pnl_quote").GetDecimal()));
        // The partial sell's one trade.updated (at 120000; the Worker's marking of trades no tick marks may add one at a later price).
        Assert.Single(events.Events, e => IsFor(e, "trade.updated", second) && e.GetProperty("data").GetProperty("price").GetDecimal() == 120000m);

        // Cash: 10000 − 200.2 − 110.11 + 239.76 + 59.94 + 49.95 = 10039.34 = starting cash + realized 39.34.
        var account = await topology.GetJsonAsync($"/api/portfolio/{bot}");
        Assert.Equal((10039.34m, 0m, 10039.34m, 39.34m), (account.GetProperty("cash").GetDecimal(), account.GetProperty("positions_value").GetDecimal(),
            account.GetProperty("equity").GetDecimal(), account.GetProperty("realized_pnl_quote").GetDecimal()));
        // The account's cash is its ledger: starting cash + every fill's cash movement, to the last digit.
        await using var connection = await topology.OpenDatabaseAsync();
        await using var ledger = new NpgsqlCommand("""
            SELECT a.starting_cash + sum(CASE WHEN o.side = 'buy' THEN -(o.quote_amount + o.fee_quote) ELSE o.quote_amount - o.fee_quote END) - a.cash
            FROM paper_accounts a JOIN orders o ON o.bot_id = a.bot_id WHERE a.bot_id = @bot GROUP BY a.starting_cash, a.cash
            """, connection);
        ledger.Parameters.AddWithValue("bot", bot);
        Assert.Equal(0m, await ledger.ExecuteScalarAsync(Cancel));
    }

    [Fact]
    public async Task Selling_more_than_held_or_nothing_held_is_refused()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();

        var (none, noneBody) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "sell", type = "market" });
        Assert.Equal((HttpStatusCode)422, none.StatusCode);
        Assert.Contains("no open BTC/USDT position", noneBody.GetProperty("detail").GetString());

        await BuyAsync(bot, "BTC/USDT", baseQty: 0.001m);
        var (more, moreBody) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "sell", type = "market", base_qty = 0.0011 });
        Assert.Equal((HttpStatusCode)422, more.StatusCode);
        Assert.Contains("no short positions", moreBody.GetProperty("errors").GetProperty("base_qty")[0].GetString());
        Assert.Equal(1, await topology.CountAsync("orders", bot));
    }

    [Fact]
    public async Task Close_a_trade_at_the_live_price_then_409()
    {
        await topology.SetPriceAsync("SOL/USDT", 200m);
        var bot = await topology.CreateBotAsync("""{"fee_rate": 0}""");
        var trade = await BuyAsync(bot, "SOL/USDT", quoteAmount: 1000m);      // 5 SOL, no fee
        await topology.SetPriceAsync("SOL/USDT", 210m);

        using var close = await topology.Gateway.PostAsync($"/api/trades/{trade}/close", null, Cancel);
        var body = JsonDocument.Parse(await close.Content.ReadAsStringAsync(Cancel)).RootElement;
        using var again = await topology.Gateway.PostAsync($"/trades/{trade}/close", null, Cancel);

        Assert.Equal(HttpStatusCode.OK, close.StatusCode);
        Assert.Equal(("sell", 5m, 210m, 1050m), (body.GetProperty("order").GetProperty("side").GetString(), body.GetProperty("order").GetProperty("amount").GetDecimal(),
            body.GetProperty("order").GetProperty("price").GetDecimal(), body.GetProperty("order").GetProperty("quote_amount").GetDecimal()));
        var row = await TradeRowAsync(trade);
        Assert.Equal(("closed", 50m, 0m), (row.Status, row.Realized, row.Fees));
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task Two_concurrent_closes_of_one_trade_one_wins()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        var trade = await BuyAsync(bot, "BTC/USDT", quoteAmount: 100m);

        var results = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => topology.Gateway.PostAsync($"/api/trades/{trade}/close", null, Cancel)));

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Conflict], results.Select(r => r.StatusCode).Order());
        await using var connection = await topology.OpenDatabaseAsync();
        await using var sells = new NpgsqlCommand("SELECT count(*) FROM orders WHERE trade_id = @t AND side = 'sell'", connection);
        sells.Parameters.AddWithValue("t", trade);
        Assert.Equal(1L, await sells.ExecuteScalarAsync(Cancel));
    }

    [Fact]
    public async Task Concurrent_buys_at_the_cash_limit_never_overdraw()
    {
        await topology.SetPriceAsync("ETH/USDT", 2000m);
        var bot = await topology.CreateBotAsync("""{"starting_cash": 1000, "fee_rate": 0}""");

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            topology.PostOrderAsync(new { bot_id = bot, symbol = "ETH/USDT", side = "buy", type = "market", quote_amount = 100 })));

        Assert.Equal(10, results.Count(r => r.Response.StatusCode == HttpStatusCode.Created));
        Assert.Equal(10, results.Count(r => r.Response.StatusCode == (HttpStatusCode)422));
        Assert.Equal(0m, (await topology.GetJsonAsync($"/api/portfolio/{bot}")).GetProperty("cash").GetDecimal());
        Assert.Equal(10, await topology.CountAsync("trades", bot));
    }

    [Fact]
    public async Task A_retry_with_the_same_idempotency_key_returns_the_first_response()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        var key = Guid.NewGuid().ToString();
        var order = new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 100 };

        var (first, firstBody) = await topology.PostOrderAsync(order, key);
        await topology.SetPriceAsync("BTC/USDT", 90000m);
        var (retry, retryBody) = await topology.PostOrderAsync(order, key);
        var (reused, reusedBody) = await topology.PostOrderAsync(order with { quote_amount = 200 }, key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(firstBody.GetRawText(), retryBody.GetRawText());
        Assert.Equal((HttpStatusCode)422, reused.StatusCode);
        Assert.True(reusedBody.GetProperty("errors").TryGetProperty("Idempotency-Key", out _));
        Assert.Equal(1, await topology.CountAsync("trades", bot));
    }

    /// <summary>
    /// The same order in JSON of another layout (spaces, field order, 100.0 for 100) with the same key is a replay, not a
    /// different request; and a client's key is kept under the route's scope, so it can never be one of the Worker's.
    /// </summary>
    [Fact]
    public async Task The_same_order_written_otherwise_is_a_replay_and_a_clients_key_is_scoped_to_its_route()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        var key = $"job1-BTC/USDT-0-0-{Guid.NewGuid():N}"; // shaped like the Worker's own keys
        async Task<(HttpStatusCode Status, string Body)> PostAsync(string json)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/orders") { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await topology.Gateway.SendAsync(request, Cancel);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(Cancel));
        }

        var first = await PostAsync($$"""{"bot_id":{{bot}},"symbol":"BTC/USDT","side":"buy","type":"market","quote_amount":100}""");
        var again = await PostAsync($$"""
            {
              "type": "market", "quote_amount": 100.0,
              "side": "buy",   "symbol": "BTC/USDT", "bot_id": {{bot}}
            }
            """);

        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created), (first.Status, again.Status));
        Assert.Equal(first.Body, again.Body);
        Assert.Equal(1, await topology.CountAsync("trades", bot));
        Assert.Equal(1L, await topology.ScalarAsync($"SELECT count(*) FROM idempotency_keys WHERE key = 'orders:{key}'"));
        Assert.Equal(0L, await topology.ScalarAsync($"SELECT count(*) FROM idempotency_keys WHERE key = '{key}'"));
    }

    public static TheoryData<string, HttpStatusCode, string> InvalidOrders => new()
    {
        { """{"symbol":"FOO/USDT","side":"buy","type":"market","quote_amount":10}""", HttpStatusCode.BadRequest, "symbol" },
        { """{"symbol":"btcusdt","side":"buy","type":"market","quote_amount":10}""", HttpStatusCode.BadRequest, "symbol" },
        { """{"side":"buy","type":"market","quote_amount":10}""", HttpStatusCode.BadRequest, "symbol" },
        { """{"symbol":"BTC/USDT","side":"hold","type":"market","quote_amount":10}""", HttpStatusCode.BadRequest, "side" },
        { """{"symbol":"BTC/USDT","side":"buy","type":"limit","quote_amount":10}""", HttpStatusCode.BadRequest, "type" },
        { """{"symbol":"BTC/USDT","side":"buy","type":"market","quote_amount":10,"base_qty":1}""", HttpStatusCode.BadRequest, "base_qty" },
        { """{"symbol":"BTC/USDT","side":"buy","type":"market"}""", HttpStatusCode.BadRequest, "quote_amount" },
        { """{"symbol":"BTC/USDT","side":"buy","type":"market","quote_amount":0}""", HttpStatusCode.BadRequest, "quote_amount" },
        { """{"symbol":"BTC/USDT","side":"buy","type":"market","quote_amount":-5}""", HttpStatusCode.BadRequest, "quote_amount" },
        { """{"symbol":"BTC/USDT","side":"buy","type":"market","quote_amount":"100"}""", HttpStatusCode.BadRequest, "quote_amount" },
        { """{"symbol":"BTC/USDT","side":"buy","type":"market","base_qty":1e20}""", HttpStatusCode.BadRequest, "base_qty" },
        { """{"symbol":"BTC/USDT","side":"buy","type":"market","base_qty":0.0000000000000000001}""", HttpStatusCode.BadRequest, "base_qty" },
        { """{"symbol":"BTC/USDT","side":"sell","type":"market","quote_amount":1,"base_qty":1}""", HttpStatusCode.BadRequest, "base_qty" },
        { """{"bot_id":"abc","symbol":"BTC/USDT","side":"buy","type":"market","quote_amount":10}""", HttpStatusCode.BadRequest, "bot_id" },
        { """{"bot_id":999999999,"symbol":"BTC/USDT","side":"buy","type":"market","quote_amount":10}""", HttpStatusCode.NotFound, "bot_id" },
        { """not json""", HttpStatusCode.BadRequest, "body" },
        { """[1,2]""", HttpStatusCode.BadRequest, "body" },
    };

    [Theory]
    [MemberData(nameof(InvalidOrders))]
    public async Task Invalid_orders_are_refused_naming_the_field_and_write_nothing(string json, HttpStatusCode status, string field)
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        await using var events = await EventListener.StartAsync(topology);
        // The request is the test's own bot unless it is about bot_id itself.
        var body = json.StartsWith("{\"bot_id\"", StringComparison.Ordinal) || !json.StartsWith('{') ? json : $"{{\"bot_id\":{bot}," + json[1..];

        using var response = await topology.Gateway.PostAsync("/api/orders",
            new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Cancel);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel)).RootElement;

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors name {field}: {problem}");
        await AssertNothingWrittenAsync(bot, events);
    }

    [Fact]
    public async Task Unknown_trade_is_404()
    {
        using var response = await topology.Gateway.PostAsync("/api/trades/999999999/close", null, Cancel);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Orders_without_a_bot_use_the_manual_account()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var before = ManualAccount(await topology.GetJsonAsync("/api/portfolio"));

        var (response, body) = await topology.PostOrderAsync(new { symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 100 });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("order").GetProperty("bot_id").ValueKind);
        var after = ManualAccount(await topology.GetJsonAsync("/portfolio"));
        Assert.Equal(before.GetProperty("cash").GetDecimal() - 100.1m, after.GetProperty("cash").GetDecimal());
    }

    /// <summary>
    /// A manual trade (no bot) is marked by the Worker on its timer (Marks__Interval, 5 s) when the price moves: its
    /// unrealized PnL in GET /trades, its trade.updated with bot_id null, and a portfolio.snapshot of the manual account
    /// (bot_id null) whose cash is the account's. Bought 0.01 ETH at 3000 (cost 30, fee 0.03); at 3100 it is worth 31:
    /// unrealized 31 − 30 − 0.03 = 0.97.
    /// </summary>
    [Fact]
    public async Task A_manual_trade_is_marked_when_the_price_moves()
    {
        await topology.SetPriceAsync("ETH/USDT", 3000m);
        await using var events = await EventListener.StartAsync(topology);
        var (response, body) = await topology.PostOrderAsync(new { symbol = "ETH/USDT", side = "buy", type = "market", base_qty = 0.01 });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var trade = body.GetProperty("trade_id").GetInt64();
        Assert.Equal(-0.03m, (await TradeRowAsync(trade)).Unrealized);

        await topology.SetPriceAsync("ETH/USDT", 3100m);

        var updated = (await events.WaitForAsync(e => IsFor(e, "trade.updated", trade), seconds: 15)).Single().GetProperty("data");
        Assert.Equal((JsonValueKind.Null, 3100m, 0.97m), (updated.GetProperty("bot_id").ValueKind, updated.GetProperty("price").GetDecimal(),
            updated.GetProperty("unrealized_pnl_quote").GetDecimal()));
        var row = await TradeRowAsync(trade);
        Assert.Equal((0.97m, 0.97m), (row.Unrealized, row.Pnl));
        var listed = (await topology.GetJsonAsync("/api/trades?status=open&limit=500")).GetProperty("trades").EnumerateArray()
            .Single(t => t.GetProperty("id").GetInt64() == trade);
        Assert.Equal(0.97m, listed.GetProperty("unrealized_pnl_quote").GetDecimal());

        // The manual account's snapshot of the same pass (the same ts).
        var ts = updated.GetProperty("ts").GetString();
        var snapshot = (await events.WaitForAsync(e => e.GetProperty("type").GetString() == "portfolio.snapshot"
            && e.GetProperty("data").GetProperty("bot_id").ValueKind == JsonValueKind.Null && e.GetProperty("data").GetProperty("ts").GetString() == ts, seconds: 5))
            .Single().GetProperty("data");
        Assert.Equal(snapshot.GetProperty("cash").GetDecimal() + snapshot.GetProperty("positions_value").GetDecimal(), snapshot.GetProperty("equity").GetDecimal());
        Assert.Equal(await topology.ScalarAsync("SELECT cash FROM paper_accounts WHERE key = 'manual'"), snapshot.GetProperty("cash").GetDecimal());
        Assert.Equal(1L, await topology.ScalarAsync($"SELECT count(*) FROM portfolio_snapshots WHERE bot_id IS NULL AND \"timestamp\" = '{snapshot.GetProperty("ts").GetString()}'::timestamptz"));
    }

    [Fact]
    public async Task Trades_are_listed_newest_first_with_filters_and_a_cursor()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        var ids = new List<long>();
        for (var i = 0; i < 3; i++) ids.Add(await BuyAsync(bot, "BTC/USDT", quoteAmount: 10m));
        using var close = await topology.Gateway.PostAsync($"/api/trades/{ids[0]}/close", null, Cancel);

        var page1 = await topology.GetJsonAsync($"/api/trades?bot_id={bot}&limit=2");
        var page2 = await topology.GetJsonAsync($"/api/trades?bot_id={bot}&limit=2&cursor={page1.GetProperty("next_cursor").GetString()}");
        var open = await topology.GetJsonAsync($"/trades?bot_id={bot}&status=open");
        var closed = await topology.GetJsonAsync($"/trades?bot_id={bot}&status=closed");

        Assert.Equal([ids[2], ids[1]], page1.GetProperty("trades").EnumerateArray().Select(t => t.GetProperty("id").GetInt64()));
        Assert.Equal([ids[0]], page2.GetProperty("trades").EnumerateArray().Select(t => t.GetProperty("id").GetInt64()));
        Assert.Equal(JsonValueKind.Null, page2.GetProperty("next_cursor").ValueKind);
        Assert.Equal([ids[2], ids[1]], open.GetProperty("trades").EnumerateArray().Select(t => t.GetProperty("id").GetInt64()));
        Assert.Equal([ids[0]], closed.GetProperty("trades").EnumerateArray().Select(t => t.GetProperty("id").GetInt64()));
        using var bad = await topology.Gateway.GetAsync("/api/trades?status=pending", Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task Events_committed_while_redis_is_down_all_arrive_in_order_once_it_is_back()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        var trades = new List<long>();

        await topology.StopRedisAsync();
        try
        {
            for (var i = 0; i < 4; i++) trades.Add(await BuyAsync(bot, "BTC/USDT", quoteAmount: 10m));
            using var close = await topology.Gateway.PostAsync($"/api/trades/{trades[0]}/close", null, Cancel);
            Assert.Equal(HttpStatusCode.OK, close.StatusCode);
        }
        catch
        {
            await topology.StartRedisAsync();
            throw;
        }

        // Hold the outbox publisher back (it cannot read the outbox under this lock) until our listener is subscribed.
        await using var connection = await topology.OpenDatabaseAsync();
        await using var hold = await connection.BeginTransactionAsync(Cancel);
        await using (var lockOutbox = new NpgsqlCommand("LOCK TABLE outbox_events IN ACCESS EXCLUSIVE MODE", connection, hold))
        {
            await lockOutbox.ExecuteNonQueryAsync(Cancel);
        }
        await topology.StartRedisAsync();
        await using var events = await EventListener.StartAsync(topology);
        await hold.CommitAsync(Cancel);

        var received = await events.WaitForAsync(e => e.GetProperty("data").TryGetProperty("bot_id", out var b)
            && b.ValueKind == JsonValueKind.Number && b.GetInt64() == bot, count: 5, seconds: 20);
        await Task.Delay(500, Cancel); // anything more (a duplicate) would arrive now

        var mine = events.Events.Where(e => e.GetProperty("data").TryGetProperty("bot_id", out var b) && b.ValueKind == JsonValueKind.Number && b.GetInt64() == bot).ToList();
        Assert.Equal(["trade.opened", "trade.opened", "trade.opened", "trade.opened", "trade.closed"], mine.Select(e => e.GetProperty("type").GetString()));
        Assert.Equal([.. trades, trades[0]], mine.Select(e => e.GetProperty("data").GetProperty("trade_id").GetInt64()));
        var ids = mine.Select(e => EventListener.LogId(e)).ToList();
        Assert.Equal(ids.Order(), ids);
    }

    private async Task<long> BuyAsync(long bot, string symbol, decimal? quoteAmount = null, decimal? baseQty = null)
    {
        var (response, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol, side = "buy", type = "market", quote_amount = quoteAmount, base_qty = baseQty });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return body.GetProperty("trade_id").GetInt64();
    }

    private async Task AssertNothingWrittenAsync(long bot, EventListener events)
    {
        Assert.Equal(0, await topology.CountAsync("trades", bot));
        Assert.Equal(0, await topology.CountAsync("orders", bot));
        await Task.Delay(300, Cancel); // an event for the bot would arrive within this window
        Assert.DoesNotContain(events.Events, e => e.GetProperty("data").TryGetProperty("bot_id", out var b)
            && b.ValueKind == JsonValueKind.Number && b.GetInt64() == bot);
    }

    private static bool IsFor(JsonElement e, string type, long tradeId) =>
        e.GetProperty("type").GetString() == type && e.GetProperty("data").GetProperty("trade_id").GetInt64() == tradeId;

    private static JsonElement ManualAccount(JsonElement portfolio) =>
        portfolio.GetProperty("accounts").EnumerateArray().Single(a => a.GetProperty("bot_id").ValueKind == JsonValueKind.Null);

    private sealed record TradeRow(string Status, decimal Amount, decimal Price, decimal CostBasis, decimal Fees, decimal Unrealized,
        decimal Realized, decimal Pnl, DateTimeOffset? ClosedAt);

    private async Task<TradeRow> TradeRowAsync(long id)
    {
        await using var connection = await topology.OpenDatabaseAsync();
        await using var select = new NpgsqlCommand("""
            SELECT status, amount, price, cost_basis_quote, fees_paid_quote, unrealized_pnl_quote, realized_pnl_quote, pnl, closed_at
            FROM trades WHERE id = @id
            """, connection);
        select.Parameters.AddWithValue("id", id);
        await using var reader = await select.ExecuteReaderAsync(Cancel);
        Assert.True(await reader.ReadAsync(Cancel), $"trade {id} exists");
        return new TradeRow(reader.GetString(0), reader.GetDecimal(1), reader.GetDecimal(2), reader.GetDecimal(3), reader.GetDecimal(4),
            reader.GetDecimal(5), reader.GetDecimal(6), reader.GetDecimal(7), reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8));
    }
}
