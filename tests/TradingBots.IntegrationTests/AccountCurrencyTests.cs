using System.Net;
using System.Text.Json;
using Npgsql;

namespace TradingBots.IntegrationTests;

/// <summary>Every paper account holds its cash in one quote currency; positions the exchange no longer lists stay readable and closable.</summary>
public sealed class AccountCurrencyTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("ETH/BTC", "ETH/BTC is quoted in BTC; this account holds USDT")]     // listed by the exchange
    [InlineData("PEPE/TRY", "PEPE/TRY is quoted in TRY; this account holds USDT")]   // not listed by the simulator
    public async Task An_order_in_another_currency_is_a_422_naming_both_and_writes_nothing(string symbol, string reason)
    {
        await using var events = await EventListener.StartAsync(topology);
        var manualOrders = await CountAsync("SELECT count(*) FROM orders WHERE bot_id IS NULL");
        var bot = await topology.CreateBotAsync();

        var (manual, manualBody) = await topology.PostOrderAsync(new { symbol, side = "buy", type = "market", quote_amount = 100 });
        var (botOrder, botBody) = await topology.PostOrderAsync(new { bot_id = bot, symbol, side = "buy", type = "market", quote_amount = 100 });

        Assert.Equal(((HttpStatusCode)422, (HttpStatusCode)422), (manual.StatusCode, botOrder.StatusCode));
        Assert.Equal([reason], manualBody.GetProperty("errors").GetProperty("symbol").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([reason], botBody.GetProperty("errors").GetProperty("symbol").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(manualOrders, await CountAsync("SELECT count(*) FROM orders WHERE bot_id IS NULL"));
        Assert.Equal(0, await topology.CountAsync("orders", bot));
        Assert.Equal(0L, await CountAsync($"SELECT count(*) FROM paper_accounts WHERE bot_id = {bot}"));
        await Task.Delay(300, Cancel); // an event for the symbol would arrive within this window
        // Only this test's accounts: other tests' bots trade ETH/BTC (and re-mark it) on the same channel meanwhile.
        Assert.DoesNotContain(events.Events, e => e.GetProperty("data") is var data
            && data.TryGetProperty("symbol", out var s) && s.GetString() == symbol
            && data.TryGetProperty("bot_id", out var b) && (b.ValueKind == JsonValueKind.Null || b.GetInt64() == bot));
    }

    [Fact]
    public async Task A_bots_account_holds_the_quote_of_its_symbols()
    {
        await topology.SetPriceAsync("ETH/BTC", 0.05m);
        var bot = await topology.CreateBotAsync("""{"starting_cash": 2}""", symbols: ["ETH/BTC"]);

        var (bought, _) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "ETH/BTC", side = "buy", type = "market", quote_amount = 0.5 });
        var (refused, refusedBody) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 10 });

        Assert.Equal(HttpStatusCode.Created, bought.StatusCode);
        Assert.Equal((HttpStatusCode)422, refused.StatusCode);
        Assert.Equal("BTC/USDT is quoted in USDT; this account holds BTC", refusedBody.GetProperty("errors").GetProperty("symbol")[0].GetString());
        // 10 ETH for 0.5 BTC, fee 0.0005 BTC: cash 2 − 0.5005 = 1.4995 BTC.
        var account = await topology.GetJsonAsync($"/api/portfolio/{bot}");
        Assert.Equal(("BTC", 1.4995m, 0.5m, 1.9995m), (account.GetProperty("quote_currency").GetString(), account.GetProperty("cash").GetDecimal(),
            account.GetProperty("positions_value").GetDecimal(), account.GetProperty("equity").GetDecimal()));
        Assert.Equal(1, await topology.CountAsync("orders", bot));
        var manual = (await topology.GetJsonAsync("/api/portfolio")).GetProperty("accounts").EnumerateArray()
            .Single(a => a.GetProperty("bot_id").ValueKind == JsonValueKind.Null);
        Assert.Equal("USDT", manual.GetProperty("quote_currency").GetString());
    }

    /// <summary>
    /// A position in a symbol the exchange no longer lists (Binance delisted it, or the run switched exchanges): the
    /// portfolio still answers, valuing it at the last price it was filled at, flagged; and it can still be closed there.
    /// </summary>
    [Fact]
    public async Task A_position_the_exchange_no_longer_lists_is_valued_and_closed_at_its_last_known_price()
    {
        await topology.SetPriceAsync("SOL/USDT", 200m);
        var bot = await topology.CreateBotAsync("""{"fee_rate": 0}""", symbols: ["SOL/USDT"]);
        var (response, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "SOL/USDT", side = "buy", type = "market", quote_amount = 1000 });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var trade = body.GetProperty("trade_id").GetInt64();
        // The exchange stops listing it: as if bought as DELISTED/USDT (5 units at 200).
        await CountAsync($"UPDATE trades SET symbol = 'DELISTED/USDT' WHERE id = {trade}; UPDATE orders SET symbol = 'DELISTED/USDT' WHERE trade_id = {trade}; SELECT 0");

        var account = await topology.GetJsonAsync($"/api/portfolio/{bot}");
        using var all = await topology.Gateway.GetAsync("/api/portfolio", Cancel);

        var position = account.GetProperty("positions").EnumerateArray().Single();
        Assert.Equal(("DELISTED/USDT", 200m, true, 1000m, 0m), (position.GetProperty("symbol").GetString(), position.GetProperty("price").GetDecimal(),
            position.GetProperty("price_stale").GetBoolean(), position.GetProperty("value").GetDecimal(), position.GetProperty("unrealized_pnl_quote").GetDecimal()));
        Assert.Equal(10000m, account.GetProperty("equity").GetDecimal());
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);

        using var close = await topology.Gateway.PostAsync($"/api/trades/{trade}/close", null, Cancel);
        var closed = JsonDocument.Parse(await close.Content.ReadAsStringAsync(Cancel)).RootElement;
        Assert.Equal(HttpStatusCode.OK, close.StatusCode);
        Assert.True(closed.GetProperty("price_stale").GetBoolean());
        Assert.Equal((200m, 1000m), (closed.GetProperty("order").GetProperty("price").GetDecimal(), closed.GetProperty("order").GetProperty("quote_amount").GetDecimal()));
        Assert.Equal(10000m, (await topology.GetJsonAsync($"/api/portfolio/{bot}")).GetProperty("cash").GetDecimal());
    }

    [Fact]
    public async Task Closing_a_trade_in_another_currency_than_its_account_is_a_422()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        var (response, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 100 });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var trade = body.GetProperty("trade_id").GetInt64();
        // A trade an earlier version let into this USDT account: ETH/BTC.
        await CountAsync($"UPDATE trades SET symbol = 'ETH/BTC' WHERE id = {trade}; SELECT 0");

        using var close = await topology.Gateway.PostAsync($"/api/trades/{trade}/close", null, Cancel);
        var problem = JsonDocument.Parse(await close.Content.ReadAsStringAsync(Cancel)).RootElement;

        Assert.Equal((HttpStatusCode)422, close.StatusCode);
        Assert.Equal("ETH/BTC is quoted in BTC; this account holds USDT", problem.GetProperty("errors").GetProperty("symbol")[0].GetString());
        Assert.Equal(1, await topology.CountAsync("orders", bot));
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = await topology.OpenDatabaseAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(Cancel), System.Globalization.CultureInfo.InvariantCulture);
    }
}
