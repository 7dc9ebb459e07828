using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>The bots API through the gateway: creation with the default strategy, validation naming the field, knobs merged.</summary>
public sealed class BotsTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static string UniqueName() => $"bot-{Guid.NewGuid():N}";


    [Theory]
    [InlineData("/bots")]
    [InlineData("/api/bots")]
    public async Task A_bot_without_a_strategy_gets_baseline_v1(string path)
    {
        var name = UniqueName();

        var (response, body) = await topology.PostJsonAsync(path, $$$"""{"name": "{{{name}}}", "symbols": ["BTC/USDT", "ETH/USDT"], "timeframe": "1m", "knobs": {"fast": 5}}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var bot = body.GetProperty("bot");
        var id = bot.GetProperty("id").GetInt64();
        Assert.Equal($"/bots/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal((name, "baseline", 1, "stopped", true, false), (bot.GetProperty("name").GetString(), bot.GetProperty("strategy").GetString(),
            bot.GetProperty("strategy_version").GetInt32(), bot.GetProperty("status").GetString(), bot.GetProperty("paper_mode").GetBoolean(),
            bot.GetProperty("stop_requested").GetBoolean()));
        Assert.Equal(["BTC/USDT", "ETH/USDT"], bot.GetProperty("symbols").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("""{"fast":5}""", bot.GetProperty("knobs").GetRawText());

        var details = await topology.GetJsonAsync($"/api/bots/{id}");
        Assert.Equal(id, details.GetProperty("bot").GetProperty("id").GetInt64());
        Assert.Equal((JsonValueKind.Null, JsonValueKind.Null, 0), (details.GetProperty("current_job").ValueKind,
            details.GetProperty("latest_snapshot").ValueKind, details.GetProperty("open_trades").GetInt32()));
        Assert.Contains((await topology.GetJsonAsync("/bots")).GetProperty("bots").EnumerateArray(), b => b.GetProperty("id").GetInt64() == id);
        Assert.Equal(1L, await topology.ScalarAsync("SELECT count(*) FROM strategies WHERE name = 'baseline' AND version = 1"));
        Assert.Equal("baseline@1", await topology.ScalarAsync($"SELECT strategy FROM bots WHERE id = {id}"));
    }

    [Fact]
    public async Task Concurrent_creations_resolve_one_baseline_strategy()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            topology.PostJsonAsync("/api/bots", $$"""{"name": "{{UniqueName()}}", "symbols": ["SOL/USDT"], "timeframe": "5m"}""")));

        Assert.All(results, r => Assert.Equal(HttpStatusCode.Created, r.Response.StatusCode));
        Assert.Equal(1L, await topology.ScalarAsync("SELECT count(*) FROM strategies WHERE name = 'baseline' AND version = 1"));
    }

    public static TheoryData<string, string, string> InvalidBots => new()
    {
        { """{"symbols": ["BTC/USDT"], "timeframe": "1m"}""", "name", "is required" },
        { """{"name": "x", "timeframe": "1m"}""", "symbols", "is required" },
        { """{"name": "x", "symbols": ["btcusdt"], "timeframe": "1m"}""", "symbols", "malformed symbol 'btcusdt'" },
        { """{"name": "x", "symbols": ["BTC/USDT", "ETH/BTC"], "timeframe": "1m"}""", "symbols", "must share one quote currency" },
        { """{"name": "x", "symbols": ["PEPE/USDT"], "timeframe": "1m"}""", "symbols", "not listed on the exchange: PEPE/USDT" },
        { """{"name": "x", "symbols": ["BTC/USDT", "BTC/USDT"], "timeframe": "1m"}""", "symbols", "BTC/USDT is listed twice" },
        { """{"name": "x", "symbols": ["BTC/USDT"], "timeframe": "2m"}""", "timeframe", "'2m' is not a Binance interval" },
        { """{"name": "x", "symbols": ["BTC/USDT"], "timeframe": "1m", "paper_mode": false}""", "paper_mode", "live trading is not offered" },
        { """{"name": "x", "symbols": ["BTC/USDT"], "timeframe": "1m", "strategy": "moon"}""", "strategy", "unknown strategy 'moon'; known: baseline@1" },
        { """{"name": "x", "symbols": ["BTC/USDT"], "timeframe": "1m", "knobs": {"fast": 0}}""", "knobs.fast", "must be from 1 to 500" },
        { """{"name": "x", "symbols": ["BTC/USDT"], "timeframe": "1m", "knobs": {"leverage": 5}}""", "knobs.leverage", "unknown knob of baseline@1" },
        { """{"name": "x", "symbols": ["BTC/USDT"], "timeframe": "1m", "knobs": {"fast": 30}}""", "knobs.fast", "must be less than slow (21)" },
        { """{"name": "x", "symbols": ["BTC/USDT"], "timeframe": "1m", "colour": "red"}""", "colour", "unknown field" },
        { """not json""", "body", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(InvalidBots))]
    public async Task Bad_input_is_a_400_naming_the_field_and_nothing_is_written(string json, string field, string reason)
    {
        var before = await topology.ScalarAsync("SELECT count(*) FROM bots");

        var (response, problem) = await topology.PostJsonAsync("/api/bots", json);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(reason, problem.GetProperty("errors").GetProperty(field)[0].GetString());
        Assert.Equal(before, await topology.ScalarAsync("SELECT count(*) FROM bots"));
    }

    [Fact]
    public async Task Knobs_are_merged_validated_as_a_whole_and_reset_with_null()
    {
        var (_, created) = await topology.PostJsonAsync("/api/bots", $$$"""{"name": "{{{UniqueName()}}}", "symbols": ["BTC/USDT"], "timeframe": "1h", "knobs": {"fast": 5, "order_quote": 50}}""");
        var id = created.GetProperty("bot").GetProperty("id").GetInt64();

        var (merged, mergedBody) = await topology.PostJsonAsync($"/api/bots/{id}/knobs", """{"slow": 30, "order_quote": null, "tick_seconds": 2}""");
        var (refused, refusedBody) = await topology.PostJsonAsync($"/bots/{id}/knobs", """{"fast": 40}""");
        var (missing, _) = await topology.PostJsonAsync("/bots/999999999/knobs", """{"fast": 4}""");

        Assert.Equal(HttpStatusCode.OK, merged.StatusCode);
        Assert.Equal("""{"fast":5,"slow":30,"tick_seconds":2}""", mergedBody.GetProperty("knobs").GetRawText());
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("must be less than slow (30)", refusedBody.GetProperty("errors").GetProperty("knobs.fast")[0].GetString());
        Assert.Equal("""{"fast": 5, "slow": 30, "tick_seconds": 2}""", await topology.ScalarAsync($"SELECT knobs::text FROM bots WHERE id = {id}"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Strategies_list_each_knob_with_its_type_default_range_and_meaning()
    {
        var strategies = (await topology.GetJsonAsync("/api/strategies")).GetProperty("strategies").EnumerateArray().ToList();

        var baseline = Assert.Single(strategies, s => s.GetProperty("name").GetString() == "baseline");
        Assert.Equal(1, baseline.GetProperty("version").GetInt32());
        var knobs = baseline.GetProperty("knobs").EnumerateArray().ToDictionary(k => k.GetProperty("name").GetString()!);
        Assert.Equal(["fast", "slow", "order_quote", "stop_loss_pct", "take_profit_pct", "max_open_trades", "tick_seconds", "max_ticks", "starting_cash", "fee_rate", "fill_model", "slippage_bps", "exchange_rules"],
            knobs.Keys);
        var fast = knobs["fast"];
        Assert.Equal(("integer", 9m, 1m, 500m, "strategy"), (fast.GetProperty("type").GetString(), fast.GetProperty("default").GetDecimal(),
            fast.GetProperty("min").GetDecimal(), fast.GetProperty("max").GetDecimal(), fast.GetProperty("scope").GetString()));
        Assert.Equal(JsonValueKind.Null, knobs["stop_loss_pct"].GetProperty("default").ValueKind);
        Assert.Equal(("bot", 5m), (knobs["tick_seconds"].GetProperty("scope").GetString(), knobs["tick_seconds"].GetProperty("default").GetDecimal()));
        Assert.False(string.IsNullOrWhiteSpace(knobs["order_quote"].GetProperty("description").GetString()));
    }

    [Fact]
    public async Task An_unknown_bot_is_404()
    {
        using var response = await topology.Gateway.GetAsync("/api/bots/999999999", Cancel);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary>
    /// Knobs are stored in their declared type's one form: an integer knob written 5.0 is stored 5 (a knob that is not a
    /// whole number is a 400 naming it, with nothing written), and a running bot's schedule (its lease's typed tick)
    /// follows a knob changed by POST /bots/{id}/knobs.
    /// </summary>
    [Fact]
    public async Task Knobs_are_stored_normalized_and_a_running_bots_tick_follows_a_changed_tick_seconds()
    {
        await topology.SetPriceAsync("BNB/USDT", 600m);
        var (created, body) = await topology.PostJsonAsync("/api/bots", $$$"""
            {"name": "{{{UniqueName()}}}", "symbols": ["BNB/USDT"], "timeframe": "1m", "knobs": {"tick_seconds": 5.0, "slow": 1000, "order_quote": 25.0}}
            """);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = body.GetProperty("bot").GetProperty("id").GetInt64();
        Assert.Equal("""{"tick_seconds":5,"slow":1000,"order_quote":25.0}""", body.GetProperty("bot").GetProperty("knobs").GetRawText());
        Assert.Equal("""{"slow": 1000, "order_quote": 25.0, "tick_seconds": 5}""", await topology.ScalarAsync($"SELECT knobs::text FROM bots WHERE id = {id}"));

        try
        {
            var (started, _) = await topology.PostJsonAsync($"/api/bots/{id}/start");
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            await UntilAsync(async () => await topology.ScalarAsync($"SELECT tick_seconds FROM bot_leases WHERE bot_id = {id}") is 5, "the bot runs on a 5 s tick");

            var (refused, problem) = await topology.PostJsonAsync($"/api/bots/{id}/knobs", """{"tick_seconds": 2.5}""");
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("must be an integer from 1 to 86400", problem.GetProperty("errors").GetProperty("knobs.tick_seconds")[0].GetString());
            Assert.Equal(5, await topology.ScalarAsync($"SELECT tick_seconds FROM bot_leases WHERE bot_id = {id}"));

            var (changed, changedBody) = await topology.PostJsonAsync($"/api/bots/{id}/knobs", """{"tick_seconds": 1.000}""");
            Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
            Assert.Equal("1", changedBody.GetProperty("knobs").GetProperty("tick_seconds").GetRawText());
            Assert.Equal(1, await topology.ScalarAsync($"SELECT tick_seconds FROM bot_leases WHERE bot_id = {id}"));
            // A second apart from the tick already scheduled (at most 5 s away) on: four more within ten seconds, where 5 s
            // ticks make at most two.
            var ticks = (int)(await topology.ScalarAsync($"SELECT ticks FROM bot_leases WHERE bot_id = {id}"))!;
            await UntilAsync(async () => (int)(await topology.ScalarAsync($"SELECT ticks FROM bot_leases WHERE bot_id = {id}"))! >= ticks + 4,
                "four more ticks at 1 s", seconds: 10);
        }
        finally
        {
            (await topology.PostJsonAsync($"/api/bots/{id}/stop")).Response.Dispose();
        }
    }

    /// <summary>GET /bots and GET /portfolio page like /jobs: newest first, limit, and next_before as the next page's before.</summary>
    [Fact]
    public async Task Bots_and_portfolio_accounts_are_listed_a_page_at_a_time()
    {
        var ids = new List<long>();
        for (var i = 0; i < 3; i++) ids.Add(await topology.CreateBotAsync());

        var first = await topology.GetJsonAsync("/api/bots?limit=2");
        Assert.Equal([ids[2], ids[1]], first.GetProperty("bots").EnumerateArray().Select(b => b.GetProperty("id").GetInt64()));
        Assert.Equal(ids[1], first.GetProperty("next_before").GetInt64());
        var second = await topology.GetJsonAsync($"/api/bots?limit=2&before={ids[1]}");
        Assert.Equal(ids[0], second.GetProperty("bots")[0].GetProperty("id").GetInt64());

        var accounts = await topology.GetJsonAsync("/api/portfolio?limit=2");
        Assert.Equal(new long?[] { null, ids[2], ids[1] }, accounts.GetProperty("accounts").EnumerateArray()
            .Select(a => a.GetProperty("bot_id").ValueKind == JsonValueKind.Null ? (long?)null : a.GetProperty("bot_id").GetInt64()));
        Assert.Equal(ids[1], accounts.GetProperty("next_before").GetInt64());
        var older = await topology.GetJsonAsync($"/api/portfolio?limit=1&before={ids[1]}");
        Assert.Equal(ids[0], older.GetProperty("accounts").EnumerateArray().Single().GetProperty("bot_id").GetInt64());

        foreach (var (path, field) in new[] { ("/api/bots?limit=0", "limit"), ("/api/bots?before=x", "before"), ("/api/portfolio?limit=501", "limit") })
        {
            using var bad = await topology.Gateway.GetAsync(path, Cancel);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.True(JsonDocument.Parse(await bad.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("errors").TryGetProperty(field, out _), path);
        }
    }

    private static Task UntilAsync(Func<Task<bool>> condition, string what, double seconds = 15) =>
        Eventually.UntilAsync(condition, what, TimeSpan.FromSeconds(seconds), cancellationToken: Cancel);
}
