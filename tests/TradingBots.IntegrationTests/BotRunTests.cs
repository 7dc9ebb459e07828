using System.Net;
using System.Text.Json;
using Npgsql;

namespace TradingBots.IntegrationTests;

/// <summary>
/// A bot run end to end through the gateway, the job message on RabbitMQ and the Worker: started against ExchangeSim,
/// prices moved so the averages cross (1 s candles, one tick a second), a buy, trade.updated and a snapshot every tick,
/// the sell, then stopped.
/// </summary>
public sealed class BotRunTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;


    private static bool For(JsonElement e, string type, long bot) => EventListener.Is(e, type, bot);

    [Fact]
    public async Task A_started_bot_buys_on_an_upward_cross_marks_every_tick_sells_on_a_downward_cross_and_stops()
    {
        await topology.SetPriceAsync("BNB/USDT", 100m);
        await using var events = await EventListener.StartAsync(topology);
        var (created, body) = await topology.PostJsonAsync("/api/bots", $$$"""
            {"name": "run-{{{Guid.NewGuid():N}}}", "symbols": ["BNB/USDT"], "timeframe": "1s",
             "knobs": {"fast": 2, "slow": 3, "tick_seconds": 1, "order_quote": 100, "fee_rate": 0}}
            """);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var bot = body.GetProperty("bot").GetProperty("id").GetInt64();
        try
        {
            await RunAsync(bot, events);
        }
        finally
        {
            (await topology.PostJsonAsync($"/api/bots/{bot}/stop")).Response.Dispose(); // never left running for the tests after this one
        }
    }

    private async Task RunAsync(long bot, EventListener events)
    {
        var (started, startedBody) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
        var (again, againBody) = await topology.PostJsonAsync($"/bots/{bot}/start");

        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var job = startedBody.GetProperty("current_job");
        var jobId = job.GetProperty("id").GetInt64();
        // The 202 shows the job as it is when the answer is written: still queued, or already taken by a Worker.
        Assert.Equal(("bot.run", 0), (job.GetProperty("task").GetString(), job.GetProperty("progress").GetInt32()));
        Assert.Contains(job.GetProperty("status").GetString(), new[] { "queued", "running" });
        Assert.False(string.IsNullOrEmpty(job.GetProperty("celery_task_id").GetString()));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(jobId, againBody.GetProperty("current_job").GetProperty("id").GetInt64());
        await events.WaitForAsync(e => For(e, "bot.state", bot) && e.GetProperty("data").GetProperty("status").GetString() == "running", seconds: 20);
        // Four ticks at 100: every closed 1 s candle is 100, the averages are equal.
        await events.WaitForAsync(e => For(e, "portfolio.snapshot", bot), count: 4, seconds: 20);

        // Up: the averages cross upward (retried: a cross lasts one candle, and a tick late by a second can miss it).
        JsonElement opened = default;
        for (var attempt = 0; attempt < 5 && opened.ValueKind == JsonValueKind.Undefined; attempt++)
        {
            await topology.SetPriceAsync("BNB/USDT", 100m + 30m * (attempt + 1));
            try { opened = (await events.WaitForAsync(e => For(e, "trade.opened", bot), seconds: 6))[0]; }
            catch (TimeoutException) { await topology.SetPriceAsync("BNB/USDT", 100m); await topology.WaitForFlatCandlesAsync("BNB/USDT", 100m, 3); } // flat again, as at the start
        }
        Assert.True(opened.ValueKind != JsonValueKind.Undefined, $"no buy; the job says: {await JobMessageAsync(jobId)}");
        var trade = opened.GetProperty("data").GetProperty("trade_id").GetInt64();
        var price = opened.GetProperty("data").GetProperty("price").GetDecimal();
        // At the live price, under the exchange's rules (on by default): 100 / P rounded down to BNB/USDT's step 0.001 (at 130:
        // 0.769 for 99.97), the quote spent is that quantity at P.
        var qty = Math.Floor(100m / price / 0.001m) * 0.001m;
        var data = opened.GetProperty("data");
        Assert.Equal((qty, qty * price, 0m),
            (data.GetProperty("qty").GetDecimal(), data.GetProperty("cost_basis_quote").GetDecimal(), data.GetProperty("fee_quote").GetDecimal()));

        // Marked every tick while open.
        await events.WaitForAsync(e => e.GetProperty("type").GetString() == "trade.updated" && e.GetProperty("data").GetProperty("trade_id").GetInt64() == trade,
            count: 2, seconds: 10);

        // Down: the averages cross downward and the trade is sold.
        JsonElement closed = default;
        for (var attempt = 0; attempt < 5 && closed.ValueKind == JsonValueKind.Undefined; attempt++)
        {
            await topology.SetPriceAsync("BNB/USDT", 50m - 10m * attempt);
            try { closed = (await events.WaitForAsync(e => For(e, "trade.closed", bot), seconds: 6))[0]; }
            catch (TimeoutException) { await topology.SetPriceAsync("BNB/USDT", 200m); await topology.WaitForFlatCandlesAsync("BNB/USDT", 200m, 3); }
        }
        Assert.True(closed.ValueKind != JsonValueKind.Undefined, $"no sell; the job says: {await JobMessageAsync(jobId)}");
        Assert.Equal(trade, closed.GetProperty("data").GetProperty("trade_id").GetInt64());

        var (stopping, _) = await topology.PostJsonAsync($"/api/bots/{bot}/stop");
        Assert.Equal(HttpStatusCode.Accepted, stopping.StatusCode);
        await events.WaitForAsync(e => For(e, "bot.state", bot) && e.GetProperty("data").GetProperty("status").GetString() == "stopped", seconds: 10);
        var (stoppedAgain, _) = await topology.PostJsonAsync($"/api/bots/{bot}/stop");
        Assert.Equal(HttpStatusCode.OK, stoppedAgain.StatusCode);

        var finished = await topology.GetJsonAsync($"/api/jobs/{jobId}");
        Assert.Equal("cancelled", finished.GetProperty("status").GetString());
        Assert.StartsWith("stopped by request after", finished.GetProperty("message").GetString());
        var details = await topology.GetJsonAsync($"/api/bots/{bot}");
        Assert.Equal(("stopped", 0), (details.GetProperty("bot").GetProperty("status").GetString(), details.GetProperty("open_trades").GetInt32()));
        Assert.Equal(JsonValueKind.Object, details.GetProperty("latest_snapshot").ValueKind);
        // One snapshot row per tick, each with its event; the spec's fields in the spec's order.
        var snapshots = events.Events.Where(e => For(e, "portfolio.snapshot", bot)).ToList();
        Assert.Equal(["bot_id", "equity", "cash", "positions_value", "ts"], snapshots[0].GetProperty("data").EnumerateObject().Select(p => p.Name));
        Assert.Equal((long)snapshots.Count, await topology.ScalarAsync($"SELECT count(*) FROM portfolio_snapshots WHERE bot_id = {bot}"));
        var progress = events.Events.Where(e => For(e, "job.progress", bot)).ToList();
        Assert.Equal(["bot_id", "job_id", "status", "progress", "ts"], progress[0].GetProperty("data").EnumerateObject().Select(p => p.Name));
        var jobs = await topology.GetJsonAsync($"/api/jobs?bot_id={bot}");
        Assert.Equal([jobId], jobs.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetInt64()));
    }

    [Fact]
    public async Task A_run_with_max_ticks_completes_at_progress_100()
    {
        await topology.SetPriceAsync("XRP/USDT", 0.5m);
        await using var events = await EventListener.StartAsync(topology);
        var (_, body) = await topology.PostJsonAsync("/api/bots", $$$"""
            {"name": "ticks-{{{Guid.NewGuid():N}}}", "symbols": ["XRP/USDT"], "timeframe": "1s", "knobs": {"tick_seconds": 1, "max_ticks": 3}}
            """);
        var bot = body.GetProperty("bot").GetProperty("id").GetInt64();

        var (started, startedBody) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
        var jobId = startedBody.GetProperty("current_job").GetProperty("id").GetInt64();
        await events.WaitForAsync(e => For(e, "bot.state", bot) && e.GetProperty("data").GetProperty("status").GetString() == "stopped", seconds: 20);

        var job = await topology.GetJsonAsync($"/api/jobs/{jobId}");
        Assert.Equal(("completed", 100, "completed 3 tick(s)"), (job.GetProperty("status").GetString(), job.GetProperty("progress").GetInt32(),
            job.GetProperty("message").GetString()));
        Assert.Equal(3L, await topology.ScalarAsync($"SELECT count(*) FROM portfolio_snapshots WHERE bot_id = {bot}"));
        Assert.Equal([33, 66, 100], events.Events.Where(e => For(e, "job.progress", bot) && e.GetProperty("data").GetProperty("progress").GetInt32() > 0)
            .Select(e => e.GetProperty("data").GetProperty("progress").GetInt32()));
    }

    private async Task<string> JobMessageAsync(long jobId) =>
        (await topology.GetJsonAsync($"/api/jobs/{jobId}")).GetRawText();

}
