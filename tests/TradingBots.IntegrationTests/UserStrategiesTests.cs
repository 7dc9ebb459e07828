using System.Net;
using System.Text.Json;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>
/// User strategies through the whole system: a C# file dropped into the instance's strategies folder is listed by
/// GET /strategies, chosen by bots and backtests by name, versioned by its content (a bot keeps the version it was created
/// with, and the Worker runs that version from the database after the file changed); a file that does not compile is
/// listed with its diagnostics and refused by name; a strategy that loops fails its own bot with the reason, not the Worker.
/// Each test writes files of its own (unique names) and removes them.
/// </summary>
public sealed class UserStrategiesTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private string Folder => Path.Combine(topology.Data, "strategies");

    /// <summary>Holds always; its description says which edition of the file it is; one knob, `level`.</summary>
    private static string Holding(string edition) => $$"""
        public sealed class Holding : IStrategyLogic
        {
            public string Description => "holds ({{edition}})";
            public IReadOnlyList<KnobSpec> Knobs { get; } = [new("level", KnobType.Integer, 3, 1, 10, "a level")];
            public int CandlesNeeded(KnobValues knobs) => 1;
            public IReadOnlyList<StrategyOrder> Decide(StrategyInput input) => [];
        }
        """;

    private async Task<string> WriteAsync(string code)
    {
        Directory.CreateDirectory(Folder);
        var name = $"user_{Guid.NewGuid():N}"[..17];
        await File.WriteAllTextAsync(Path.Combine(Folder, $"{name}.cs"), code, Cancel);
        return name;
    }

    private void Remove(string name) => File.Delete(Path.Combine(Folder, $"{name}.cs"));

    private async Task<JsonElement> ListedAsync(string name) =>
        (await topology.GetJsonAsync("/api/strategies")).GetProperty("strategies").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);

    private async Task<(HttpResponseMessage Response, JsonElement Body)> CreateBotAsync(string strategy, string knobs = "{}") =>
        await topology.PostJsonAsync("/api/bots", $$"""
            {"name": "user-{{Guid.NewGuid():N}}", "symbols": ["XRP/USDT"], "timeframe": "1m", "strategy": "{{strategy}}", "knobs": {{knobs}}}
            """);

    [Fact]
    public async Task A_file_is_listed_chosen_by_name_and_a_changed_file_is_a_new_version_while_bots_keep_theirs()
    {
        var name = await WriteAsync(Holding("first"));
        long? first = null;
        try
        {
            var listed = await ListedAsync(name);
            Assert.Equal((1, "holds (first)", "user"), (listed.GetProperty("version").GetInt32(), listed.GetProperty("description").GetString(),
                listed.GetProperty("source").GetString()));
            var level = listed.GetProperty("knobs").EnumerateArray().First();
            Assert.Equal(("level", "integer", 3m, "strategy"), (level.GetProperty("name").GetString(), level.GetProperty("type").GetString(),
                level.GetProperty("default").GetDecimal(), level.GetProperty("scope").GetString()));
            Assert.Equal(0, listed.GetProperty("diagnostics").GetArrayLength());

            var (created, body) = await CreateBotAsync(name, """{"level": 5, "tick_seconds": 1}""");
            Assert.True(created.StatusCode == HttpStatusCode.Created, body.ToString());
            first = body.GetProperty("bot").GetProperty("id").GetInt64();
            Assert.Equal((name, 1), (body.GetProperty("bot").GetProperty("strategy").GetString(), body.GetProperty("bot").GetProperty("strategy_version").GetInt32()));
            var (refused, problem) = await CreateBotAsync(name, """{"level": 11}""");
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("must be from 1 to 10", problem.GetProperty("errors").GetProperty("knobs.level")[0].GetString());

            // The file changes: version 2 for new bots; the first bot keeps version 1, and runs it (compiled from the database).
            await File.WriteAllTextAsync(Path.Combine(Folder, $"{name}.cs"), Holding("second"), Cancel);
            listed = await ListedAsync(name);
            Assert.Equal((2, "holds (second)"), (listed.GetProperty("version").GetInt32(), listed.GetProperty("description").GetString()));
            var (again, againBody) = await CreateBotAsync(name);
            Assert.Equal(HttpStatusCode.Created, again.StatusCode);
            Assert.Equal(2, againBody.GetProperty("bot").GetProperty("strategy_version").GetInt32());
            Assert.Equal(1, (await topology.GetJsonAsync($"/api/bots/{first}")).GetProperty("bot").GetProperty("strategy_version").GetInt32());
            Assert.Equal(2L, await topology.ScalarAsync($"SELECT count(*) FROM strategy_sources WHERE name = '{name}'"));

            var (started, _) = await topology.PostJsonAsync($"/api/bots/{first}/start");
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            await Eventually.UntilAsync(async () => await topology.ScalarAsync($"SELECT ticks FROM bot_leases WHERE bot_id = {first}") is int ticks && ticks >= 2,
                $"bot {first} on {name}@1 ticks twice", TimeSpan.FromSeconds(20), cancellationToken: Cancel);
            Assert.Equal("running", (await topology.GetJsonAsync($"/api/bots/{first}")).GetProperty("bot").GetProperty("status").GetString());

            // A backtest names the current version; it completes on it.
            var to = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 3_600_000 * 3_600_000 - 3_600_000;
            var (backtest, backtestBody) = await topology.PostJsonAsync("/api/backtests",
                $$"""{"strategy": "{{name}}", "symbols": ["XRP/USDT"], "timeframe": "1h", "from": {{to - 24 * 3_600_000L}}, "to": {{to}}}""");
            Assert.True(backtest.StatusCode == HttpStatusCode.Accepted, backtestBody.ToString());
            Assert.Equal(2, backtestBody.GetProperty("version").GetInt32());
            var id = backtestBody.GetProperty("id").GetInt64();
            await Eventually.UntilAsync(async () => (await topology.GetJsonAsync($"/api/backtests/{id}")).GetProperty("job").GetProperty("status").GetString()
                is "completed" or "failed", $"backtest {id} ends", TimeSpan.FromSeconds(60), cancellationToken: Cancel);
            var done = await topology.GetJsonAsync($"/api/backtests/{id}");
            Assert.Equal(("completed", 24, 0), (done.GetProperty("job").GetProperty("status").GetString(),
                done.GetProperty("summary").GetProperty("candles").GetInt32(), done.GetProperty("summary").GetProperty("trade_count").GetInt32()));
        }
        finally
        {
            if (first is { } bot) (await topology.PostJsonAsync($"/api/bots/{bot}/stop")).Response.Dispose();
            Remove(name);
        }
    }

    [Fact]
    public async Task A_file_that_does_not_compile_is_listed_with_its_diagnostics_and_refused_by_name()
    {
        var name = await WriteAsync(Holding("broken").Replace("=> [];", "=> [] +;"));
        try
        {
            var listed = await ListedAsync(name);
            Assert.Equal(JsonValueKind.Null, listed.GetProperty("version").ValueKind);
            var diagnostic = listed.GetProperty("diagnostics").EnumerateArray().First();
            Assert.Equal(($"{name}.cs", 6), (diagnostic.GetProperty("file").GetString(), diagnostic.GetProperty("line").GetInt32()));
            Assert.StartsWith("CS1525: Invalid expression term ';'", diagnostic.GetProperty("message").GetString());

            var (refused, problem) = await CreateBotAsync(name);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.StartsWith($"strategy '{name}' cannot be used: {name}.cs(6,", problem.GetProperty("errors").GetProperty("strategy")[0].GetString());
            var (backtest, backtestProblem) = await topology.PostJsonAsync("/api/backtests",
                $$"""{"strategy": "{{name}}", "symbols": ["XRP/USDT"], "timeframe": "1h", "from": 0, "to": 3600000}""");
            Assert.Equal(HttpStatusCode.BadRequest, backtest.StatusCode);
            Assert.StartsWith($"strategy '{name}' cannot be used", backtestProblem.GetProperty("errors").GetProperty("strategy")[0].GetString());
            Assert.Equal(0L, await topology.ScalarAsync($"SELECT count(*) FROM strategies WHERE name = '{name}'"));
        }
        finally
        {
            Remove(name);
        }
    }

    [Fact]
    public async Task A_strategy_that_never_returns_fails_its_own_bot_saying_so_and_the_bot_beside_it_ticks_on()
    {
        var name = await WriteAsync(Holding("looping").Replace("public IReadOnlyList<StrategyOrder> Decide(StrategyInput input) => [];",
            "public IReadOnlyList<StrategyOrder> Decide(StrategyInput input) { while (true) { } }"));
        await using var events = await EventListener.StartAsync(topology);
        var healthy = await topology.CreateBotAsync("""{"slow": 1000, "tick_seconds": 1}""", ["XRP/USDT"]);
        long? looping = null;
        try
        {
            var (created, body) = await CreateBotAsync(name, """{"tick_seconds": 1}""");
            Assert.True(created.StatusCode == HttpStatusCode.Created, body.ToString());
            looping = body.GetProperty("bot").GetProperty("id").GetInt64();
            foreach (var bot in new[] { healthy, looping.Value })
            {
                var (started, _) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
                Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            }

            await events.WaitForAsync(e => EventListener.Is(e, "bot.state", looping.Value) && e.GetProperty("data").GetProperty("status").GetString() == "error", seconds: 30);
            var job = (await topology.GetJsonAsync($"/api/bots/{looping}")).GetProperty("current_job");
            Assert.Equal("failed", job.GetProperty("status").GetString());
            Assert.Equal($"strategy {name}@1 failed on XRP/USDT: {name}@1: Decide took longer than its budget of 250 ms per call", job.GetProperty("message").GetString());

            var ticks = (int)(await topology.ScalarAsync($"SELECT ticks FROM bot_leases WHERE bot_id = {healthy}"))!;
            await Eventually.UntilAsync(async () => (int)(await topology.ScalarAsync($"SELECT ticks FROM bot_leases WHERE bot_id = {healthy}"))! >= ticks + 2,
                "the healthy bot ticks on", TimeSpan.FromSeconds(10), cancellationToken: Cancel);
        }
        finally
        {
            foreach (var bot in new[] { healthy, looping }.OfType<long>()) (await topology.PostJsonAsync($"/api/bots/{bot}/stop")).Response.Dispose();
            Remove(name);
        }
    }

    /// <summary>
    /// A strategy's orders are for the symbol it was asked about and close only its bot's own open trades of that symbol:
    /// a user strategy naming another account's trade (here a manual one) or another symbol gets each refused, in its job's
    /// message, and nothing of it is written.
    /// </summary>
    [Fact]
    public async Task A_strategy_closes_only_its_own_trades_and_trades_only_the_symbol_it_was_asked_about()
    {
        await topology.SetPriceAsync("XRP/USDT", 0.5m);
        var (bought, order) = await topology.PostJsonAsync("/api/orders", """{"symbol": "XRP/USDT", "side": "buy", "type": "market", "quote_amount": 10}""");
        Assert.Equal(HttpStatusCode.Created, bought.StatusCode);
        var manual = order.GetProperty("trade_id").GetInt64();
        var name = await WriteAsync(Holding("reaching").Replace("public IReadOnlyList<StrategyOrder> Decide(StrategyInput input) => [];",
            $"public IReadOnlyList<StrategyOrder> Decide(StrategyInput input) => [new(input.Symbol, \"sell\", null, {manual}L, \"not mine\"), StrategyOrder.Buy(\"ETH/USDT\", 10m, \"elsewhere\")];"));
        await using var events = await EventListener.StartAsync(topology);
        try
        {
            var (created, body) = await CreateBotAsync(name, """{"tick_seconds": 1, "max_ticks": 1}""");
            Assert.True(created.StatusCode == HttpStatusCode.Created, body.ToString());
            var bot = body.GetProperty("bot").GetProperty("id").GetInt64();
            var (_, started) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
            var jobId = started.GetProperty("current_job").GetProperty("id").GetInt64();
            await events.WaitForAsync(e => EventListener.Is(e, "bot.state", bot) && e.GetProperty("data").GetProperty("status").GetString() == "stopped", seconds: 30);

            var job = await topology.GetJsonAsync($"/api/jobs/{jobId}");
            Assert.Equal(("completed", $"completed 1 tick(s): sell XRP/USDT refused: trade {manual} is not an open XRP/USDT trade of this account; "
                + "buy ETH/USDT refused: the strategy was asked about XRP/USDT"), (job.GetProperty("status").GetString(), job.GetProperty("message").GetString()));
            Assert.Equal("open", await topology.ScalarAsync($"SELECT status FROM trades WHERE id = {manual}"));
            Assert.Equal(0L, await topology.ScalarAsync($"SELECT count(*) FROM trades WHERE bot_id = {bot}"));
            Assert.Equal(0L, await topology.ScalarAsync($"SELECT count(*) FROM orders WHERE bot_id = {bot}"));
        }
        finally
        {
            Remove(name);
        }
    }
}
