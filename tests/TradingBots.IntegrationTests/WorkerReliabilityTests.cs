using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>Two Worker processes share the running bots: each tick of a bot is run by one of them, and a killed one's bots go on.</summary>
public sealed class WorkerReliabilityTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_workers_tick_each_bot_once_per_tick_and_a_killed_ones_bots_go_on_within_two_ticks()
    {
        await topology.SetPriceAsync("SOL/USDT", 150m);
        var replica = await topology.StartReplicaAsync(ResourceNames.Worker, Cancel);
        var bots = new List<long>();
        try
        {
            for (var i = 0; i < 6; i++)
            {
                using var created = await topology.Gateway.PostAsync("/api/bots", Json($$$"""
                    {"name": "pair-{{{Guid.NewGuid():N}}}", "symbols": ["SOL/USDT"], "timeframe": "1m", "knobs": {"tick_seconds": 1}}
                    """), Cancel);
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
                var bot = JsonDocument.Parse(await created.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("bot").GetProperty("id").GetInt64();
                bots.Add(bot);
                using var started = await topology.Gateway.PostAsync($"/api/bots/{bot}/start", null, Cancel);
                Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            }
            await UntilAsync(async () => await LeasesAsync(bots) is var all && all.Count == bots.Count && all.All(l => l.Ticks >= 4),
                "every bot running and ticked 4 times");

            // No tick was run twice (one snapshot per tick; the last may be under way).
            var leases = await LeasesAsync(bots);
            foreach (var lease in leases) Assert.InRange(await SnapshotsAsync(lease.BotId), lease.Ticks - 1, lease.Ticks);

            // The Worker that runs the most of them dies (SIGKILL; the topology's own is restarted by the AppHost, the
            // replica is not): its bots go on in a Worker still alive within two tick intervals (plus a scheduler pass).
            var victim = leases.GroupBy(l => l.Owner).OrderByDescending(g => g.Count()).First().Key;
            var victimPid = int.Parse(victim[(victim.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Contains(victimPid, new[] { replica.ProcessId, await topology.ProcessIdOfAsync(ResourceNames.Worker) });
            var orphans = leases.Where(l => l.Owner == victim).ToList();
            Process.GetProcessById(victimPid).Kill();
            var killed = Stopwatch.StartNew();
            var before = orphans.ToDictionary(l => l.BotId, l => l.Ticks);
            await UntilAsync(async () => await LeasesAsync([.. before.Keys]) is var taken && taken.Count == before.Count
                    && taken.All(l => l.Owner != victim && l.Ticks > before[l.BotId]),
                "the killed Worker's bots ticked by the other", seconds: 10);
            Assert.True(killed.Elapsed < TimeSpan.FromSeconds(2 * 1 + 1.5), $"taken over {killed.Elapsed.TotalSeconds:0.0} s after the kill");
            // Still none twice. A tick is counted when it is claimed: the one the kill cut short may have no snapshot.
            foreach (var lease in await LeasesAsync(bots))
                Assert.InRange(await SnapshotsAsync(lease.BotId), lease.Ticks - (before.ContainsKey(lease.BotId) ? 2 : 1), lease.Ticks);
        }
        finally
        {
            try { Process.GetProcessById(replica.ProcessId).Kill(); } catch (ArgumentException) { }
            foreach (var bot in bots) (await topology.Gateway.PostAsync($"/api/bots/{bot}/stop", null, Cancel)).Dispose();
        }
        await UntilAsync(async () => (await LeasesAsync(bots)).Count == 0, "every bot stopped");
    }

    /// <summary>
    /// Two Workers, and an exchange so slow (ExchangeSim's latency fault, 1.2 s on every answer) that a tick (prices, then
    /// candles) outlasts its lease of two 1 s tick intervals: the Worker that runs a tick renews its lease meanwhile and
    /// fences every write with its claim's token, so the other never runs the same bot at once. Each bot's orders are
    /// keyed by run, symbol and candle, each candle is judged once, and max_open_trades (1) holds: no two trades of a bot
    /// are ever open together. (Before, the second Worker took each slow tick's bot over, both judged the same candle,
    /// and a bot held two trades.) Prices climb and fall in turns, so baseline (fast 1, slow 2) trades every few seconds.
    /// </summary>
    [Fact]
    public async Task Ticks_slower_than_their_lease_keep_it_and_no_candle_is_judged_twice_by_two_workers()
    {
        var replica = await topology.StartReplicaAsync(ResourceNames.Worker, Cancel);
        var bots = new List<long>();
        using var moving = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        var prices = MovePricesAsync("BNBUSDT", 600m, moving.Token);
        try
        {
            await SetFaultAsync(new { mode = "latency", latency_ms = 1200, symbols = new[] { "BNBUSDT" } });
            for (var i = 0; i < 4; i++)
            {
                var (created, body) = await topology.PostJsonAsync("/api/bots", $$$"""
                    {"name": "slow-{{{Guid.NewGuid():N}}}", "symbols": ["BNB/USDT"], "timeframe": "1s",
                     "knobs": {"tick_seconds": 1, "fast": 1, "slow": 2, "order_quote": 50, "max_open_trades": 1}}
                    """);
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
                var bot = body.GetProperty("bot").GetProperty("id").GetInt64();
                bots.Add(bot);
                var (started, _) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
                Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            }
            // A tick really is slower than the lease: each of its two market calls waits 1.2 s.
            var clock = Stopwatch.StartNew();
            using (var slow = await topology.Gateway.GetAsync("/api/market/ohlcv?symbol=BNB/USDT&timeframe=1s&limit=3", Cancel))
                Assert.Equal(HttpStatusCode.OK, slow.StatusCode);
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.2), $"candles answered in {clock.Elapsed.TotalSeconds:0.00} s");

            await UntilAsync(async () => (long)(await topology.ScalarAsync($"SELECT count(*) FROM orders WHERE bot_id = ANY(ARRAY[{string.Join(",", bots)}]) AND side = 'buy'"))! >= 8,
                "the bots bought 8 times", seconds: 60);
        }
        finally
        {
            await topology.ClearFaultsAsync();
            await moving.CancelAsync();
            await prices;
            foreach (var bot in bots) (await topology.PostJsonAsync($"/api/bots/{bot}/stop")).Response.Dispose();
            try { Process.GetProcessById(replica.ProcessId).Kill(); } catch (ArgumentException) { }
        }
        await UntilAsync(async () => (await LeasesAsync(bots)).Count == 0, "every bot stopped");

        await using var connection = await topology.OpenDatabaseAsync();
        foreach (var bot in bots)
        {
            var job = (long)(await topology.ScalarAsync($"SELECT id FROM jobs WHERE bot_id = {bot}"))!;
            // Every buy has its run, symbol and candle in its key, and no candle has two.
            var keys = new List<string>();
            await using (var select = new NpgsqlCommand("SELECT key FROM idempotency_keys WHERE key LIKE @prefix", connection))
            {
                select.Parameters.AddWithValue("prefix", $"worker:job{job}-%");
                await using var reader = await select.ExecuteReaderAsync(Cancel);
                while (await reader.ReadAsync(Cancel)) keys.Add(reader.GetString(0));
            }
            var candles = keys.Select(k => System.Text.RegularExpressions.Regex.Match(k, $@"^worker:job{job}-BNB/USDT-(\d+)-0$")).ToList();
            Assert.All(candles, c => Assert.True(c.Success, $"a key not of run, symbol, candle and order: {string.Join(", ", keys)}"));
            Assert.Equal(candles.Count, candles.Select(c => c.Groups[1].Value).Distinct().Count());
            Assert.Equal((long)keys.Count, await topology.CountBuysAsync(bot));

            // max_open_trades 1: each trade opened after the one before it closed.
            var trades = new List<(DateTime Opened, DateTime? Closed)>();
            await using (var select = new NpgsqlCommand("SELECT created_at, closed_at FROM trades WHERE bot_id = @bot ORDER BY created_at, id", connection))
            {
                select.Parameters.AddWithValue("bot", bot);
                await using var reader = await select.ExecuteReaderAsync(Cancel);
                while (await reader.ReadAsync(Cancel)) trades.Add((reader.GetDateTime(0), reader.IsDBNull(1) ? null : reader.GetDateTime(1)));
            }
            for (var i = 1; i < trades.Count; i++)
                Assert.True(trades[i - 1].Closed is { } closed && closed <= trades[i].Opened, $"bot {bot}: trade {i} opened at {trades[i].Opened:O} while trade {i - 1} was open");
        }
    }

    /// <summary>
    /// One bot's orders meet a database error (a trigger of this test's makes every insert of that bot's trades fail with a
    /// serialization failure, 40001): that bot's tick is left to the next one, and the bot beside it, in the same Worker
    /// and batch, buys, and its job's progress moves on, as if nothing happened. (Before, the error left the whole batch's tick.)
    /// </summary>
    [Fact]
    public async Task One_bots_database_error_leaves_that_bot_to_its_next_tick_and_the_others_trade_on()
    {
        var bots = new List<long>();
        using var moving = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        var prices = MovePricesAsync("BNBUSDT", 600m, moving.Token);
        string? trigger = null;
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var (created, body) = await topology.PostJsonAsync("/api/bots", $$$"""
                    {"name": "db-error-{{{Guid.NewGuid():N}}}", "symbols": ["BNB/USDT"], "timeframe": "1s",
                     "knobs": {"tick_seconds": 1, "fast": 1, "slow": 2, "order_quote": 50, "max_open_trades": 1}}
                    """);
                Assert.Equal(HttpStatusCode.Created, created.StatusCode);
                bots.Add(body.GetProperty("bot").GetProperty("id").GetInt64());
            }
            var (faulty, healthy) = (bots[0], bots[1]);
            trigger = $"test_fail_trades_of_bot_{faulty}";
            await topology.ScalarAsync($$"""
                CREATE FUNCTION {{trigger}}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.bot_id = {{faulty}} THEN RAISE EXCEPTION 'injected by a test' USING ERRCODE = '40001'; END IF; RETURN NEW; END $$;
                CREATE TRIGGER {{trigger}} BEFORE INSERT ON trades FOR EACH ROW EXECUTE FUNCTION {{trigger}}();
                """);
            foreach (var bot in bots)
            {
                var (started, _) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
                Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            }

            await UntilAsync(async () => await topology.CountBuysAsync(healthy) >= 3, "the healthy bot bought 3 times", seconds: 60);
            Assert.Equal(0L, await topology.CountBuysAsync(faulty));
            Assert.Equal(("running", "running"), ((string)(await topology.ScalarAsync($"SELECT status FROM bots WHERE id = {faulty}"))!,
                (string)(await topology.ScalarAsync($"SELECT status FROM jobs WHERE bot_id = {faulty}"))!));
            // The faulty bot's ticks still mark it: its snapshots go on with the healthy one's.
            Assert.True(await topology.CountAsync("portfolio_snapshots", faulty) >= 3);
            var progress = (int)(await topology.ScalarAsync($"SELECT progress FROM jobs WHERE bot_id = {healthy}"))!;
            Assert.True(progress >= 3, $"the healthy bot's job is at {progress}");
        }
        finally
        {
            if (trigger is not null) await topology.ScalarAsync($"DROP TRIGGER IF EXISTS {trigger} ON trades; DROP FUNCTION IF EXISTS {trigger}()");
            await moving.CancelAsync();
            await prices;
            foreach (var bot in bots) (await topology.PostJsonAsync($"/api/bots/{bot}/stop")).Response.Dispose();
        }
        await UntilAsync(async () => (await LeasesAsync(bots)).Count == 0, "every bot stopped");
    }

    /// <summary>Pins a symbol's price on the simulator, climbing for three seconds and falling for three, until cancelled.</summary>
    private async Task MovePricesAsync(string symbol, decimal around, CancellationToken cancellationToken)
    {
        for (var step = 0; !cancellationToken.IsCancellationRequested; step++)
        {
            var phase = step % 12;
            var price = around + (phase < 6 ? phase : 12 - phase);
            using (var put = await topology.Sim.PutAsJsonAsync($"/sim/prices/{symbol}", new { price }, CancellationToken.None)) put.EnsureSuccessStatusCode();
            try { await Task.Delay(500, cancellationToken); } // a market that moves with time: a step every 500 ms
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task SetFaultAsync(object fault)
    {
        using var response = await topology.Sim.PostAsJsonAsync("/sim/faults", fault, CancellationToken.None);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The run command stopped and run again: running bots resume on their jobs, balances and open trades as they were.</summary>
    [Fact]
    public async Task After_the_whole_system_stops_and_starts_again_running_bots_resume_with_balances_and_trades_intact()
    {
        await topology.SetPriceAsync("SOL/USDT", 150m);
        // slow 1000: the strategy never has enough candles, so only the tick itself (marks, snapshots) runs.
        var (created, body) = await topology.PostJsonAsync("/api/bots", $$$"""
            {"name": "resume-{{{Guid.NewGuid():N}}}", "symbols": ["SOL/USDT"], "timeframe": "1m", "knobs": {"tick_seconds": 1, "slow": 1000}}
            """);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var bot = body.GetProperty("bot").GetProperty("id").GetInt64();
        var (started, startedBody) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
        var job = startedBody.GetProperty("current_job").GetProperty("id").GetInt64();
        var (bought, order) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "SOL/USDT", side = "buy", type = "market", quote_amount = 300 });
        Assert.Equal(HttpStatusCode.Created, bought.StatusCode);
        var trade = order.GetProperty("trade_id").GetInt64();
        await UntilAsync(async () => await LeasesAsync([bot]) is [{ Ticks: >= 2 }], "the bot ticked twice");
        var cash = (await topology.GetJsonAsync($"/api/portfolio/{bot}")).GetProperty("cash").GetDecimal();
        var ticks = (await LeasesAsync([bot]))[0].Ticks;

        await topology.RestartAsync(Cancel);

        try
        {
            await UntilAsync(async () => await LeasesAsync([bot]) is [var lease] && lease.Ticks > ticks + 1, "the bot ticks again after the restart");
            var details = await topology.GetJsonAsync($"/api/bots/{bot}");
            Assert.Equal(("running", job, "running", 1), (details.GetProperty("bot").GetProperty("status").GetString(),
                details.GetProperty("current_job").GetProperty("id").GetInt64(), details.GetProperty("current_job").GetProperty("status").GetString(),
                details.GetProperty("open_trades").GetInt32()));
            Assert.Equal(cash, (await topology.GetJsonAsync($"/api/portfolio/{bot}")).GetProperty("cash").GetDecimal());
            Assert.Equal("open", await topology.ScalarAsync($"SELECT status FROM trades WHERE id = {trade}"));
            Assert.Equal(1L, await topology.ScalarAsync($"SELECT count(*) FROM jobs WHERE bot_id = {bot}"));
        }
        finally
        {
            (await topology.PostJsonAsync($"/api/bots/{bot}/stop")).Response.Dispose();
        }
        await UntilAsync(async () => (await LeasesAsync([bot])).Count == 0, "the bot stopped");
    }

    /// <summary>
    /// The test run's own RabbitMQ node stopped and started again: running bots tick on through the outage (their leases
    /// are in PostgreSQL), a bot started during it answers at once and is run by the sweep of queued jobs, and once the
    /// node is back the Worker consumes again (a bot started then runs within the sweep's age limit, so by its message)
    /// and stop works.
    /// </summary>
    [Fact]
    public async Task After_RabbitMQ_restarts_the_worker_reconnects_and_start_and_stop_still_work()
    {
        await topology.SetPriceAsync("SOL/USDT", 150m);
        var bots = new List<long>();
        async Task<long> StartAsync(string name)
        {
            var (created, body) = await topology.PostJsonAsync("/api/bots", $$$"""
                {"name": "{{{name}}}-{{{Guid.NewGuid():N}}}", "symbols": ["SOL/USDT"], "timeframe": "1m", "knobs": {"tick_seconds": 1, "slow": 1000}}
                """);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var bot = body.GetProperty("bot").GetProperty("id").GetInt64();
            bots.Add(bot);
            var (started, _) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            return bot;
        }
        try
        {
            var before = await StartAsync("before-outage");
            await UntilAsync(async () => await LeasesAsync([before]) is [{ Ticks: >= 1 }], "the first bot runs");

            await topology.StopRabbitMqAsync();
            try
            {
                var ticks = (await LeasesAsync([before]))[0].Ticks;
                var answered = Stopwatch.StartNew();
                var during = await StartAsync("during-outage");
                Assert.True(answered.Elapsed < TimeSpan.FromSeconds(5), $"start answered after {answered.Elapsed.TotalSeconds:0.0} s with the broker down");
                await UntilAsync(async () => await LeasesAsync([before, during]) is [var first, { Ticks: >= 1 }] && first.Ticks >= ticks + 2,
                    "the running bot ticks on and the one started during the outage is taken by the sweep", seconds: 20);
            }
            finally
            {
                await topology.StartRabbitMqAsync();
            }

            await UntilAsync(ConsumingAsync, "the Worker consumes from the restarted node again", seconds: 60);
            var taken = Stopwatch.StartNew();
            var after = await StartAsync("after-outage");
            await UntilAsync(async () => await LeasesAsync([after]) is [_], "the bot started after the outage runs");
            Assert.True(taken.Elapsed < TimeSpan.FromSeconds(4), $"taken {taken.Elapsed.TotalSeconds:0.0} s after start: by the sweep, not by its message");

            foreach (var bot in bots)
            {
                var (stopped, _) = await topology.PostJsonAsync($"/api/bots/{bot}/stop");
                Assert.Equal(HttpStatusCode.Accepted, stopped.StatusCode);
            }
            await UntilAsync(async () => (await LeasesAsync(bots)).Count == 0, "every bot stopped");
            foreach (var bot in bots)
            {
                Assert.Equal("stopped", await topology.ScalarAsync($"SELECT status FROM bots WHERE id = {bot}"));
                Assert.Equal("cancelled", await topology.ScalarAsync($"SELECT status FROM jobs WHERE bot_id = {bot}"));
            }
        }
        finally
        {
            foreach (var bot in bots) (await topology.PostJsonAsync($"/api/bots/{bot}/stop")).Response.Dispose();
        }
    }

    /// <summary>Whether the Worker has a consumer on its run-bot queue of the test run's own node.</summary>
    private async Task<bool> ConsumingAsync()
    {
        var start = new ProcessStartInfo("rabbitmqctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-q", "-n", $"{topology.RabbitMqNode}@localhost", "list_consumers", "-p", "/", "queue_name" })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync(Cancel);
        await process.WaitForExitAsync(Cancel);
        return process.ExitCode == 0 && output.Split('\n').Any(line => line.Trim() == "run-bot");
    }

    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    private sealed record Lease(long BotId, string Owner, int Ticks);

    private async Task<List<Lease>> LeasesAsync(IReadOnlyList<long> bots)
    {
        await using var connection = await topology.OpenDatabaseAsync();
        await using var select = new NpgsqlCommand("SELECT bot_id, owner, ticks FROM bot_leases WHERE bot_id = ANY(@bots) ORDER BY bot_id", connection);
        select.Parameters.AddWithValue("bots", bots.ToArray());
        await using var reader = await select.ExecuteReaderAsync(Cancel);
        var leases = new List<Lease>();
        while (await reader.ReadAsync(Cancel)) leases.Add(new Lease(reader.GetInt64(0), reader.GetString(1), reader.GetInt32(2)));
        return leases;
    }

    private async Task<int> SnapshotsAsync(long bot)
    {
        await using var connection = await topology.OpenDatabaseAsync();
        await using var count = new NpgsqlCommand($"SELECT count(*) FROM portfolio_snapshots WHERE bot_id = {bot}", connection);
        return (int)(long)(await count.ExecuteScalarAsync(Cancel))!;
    }

    private static Task UntilAsync(Func<Task<bool>> condition, string what, double seconds = 30) =>
        Eventually.UntilAsync(condition, what, TimeSpan.FromSeconds(seconds), cancellationToken: Cancel);
}
