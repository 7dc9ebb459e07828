using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace TradingBots.IntegrationTests;

/// <summary>What goes wrong in a bot's run is that bot's, and the Worker says so: a strategy that throws, a market that hangs.</summary>
public sealed class BotFailureTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static bool For(JsonElement e, string type, long bot) => EventListener.Is(e, type, bot);

    /// <summary>
    /// A bot whose row holds knobs the API would refuse (fast 0: written by hand, or by an older version) makes baseline
    /// refuse them: that bot goes to error with the reason in its job and its bot.state, and the Worker (same process)
    /// goes on ticking the bot beside it.
    /// </summary>
    [Fact]
    public async Task A_strategy_that_throws_puts_its_bot_in_error_with_the_reason_and_the_worker_goes_on()
    {
        await topology.SetPriceAsync("XRP/USDT", 2.2m);
        await using var events = await EventListener.StartAsync(topology);
        var worker = topology.Topology.ProcessIdOf(ResourceNames.Worker);
        var faulty = await topology.CreateBotAsync("""{"fast": 0, "slow": 2, "tick_seconds": 1}""", ["XRP/USDT"]);
        var healthy = await topology.CreateBotAsync("""{"slow": 1000, "tick_seconds": 1}""", ["XRP/USDT"]);
        try
        {
            foreach (var bot in new[] { healthy, faulty })
            {
                var (started, _) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
                Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            }
            var error = (await events.WaitForAsync(e => For(e, "bot.state", faulty) && e.GetProperty("data").GetProperty("status").GetString() == "error", seconds: 20))[0];
            var details = await topology.GetJsonAsync($"/api/bots/{faulty}");
            var job = details.GetProperty("current_job");
            Assert.Equal(("error", "failed", "strategy baseline failed on XRP/USDT: knobs fast 0 and slow 2: fast must be at least 1 and below slow"),
                (details.GetProperty("bot").GetProperty("status").GetString(), job.GetProperty("status").GetString(), job.GetProperty("message").GetString()));
            Assert.Equal(job.GetProperty("id").GetInt64(), error.GetProperty("data").GetProperty("job_id").GetInt64());
            Assert.Equal(0L, await topology.ScalarAsync($"SELECT count(*) FROM bot_leases WHERE bot_id = {faulty}"));

            // The Worker did not die (no restart: same process) and ticks the other bot on.
            var snapshots = await topology.CountAsync("portfolio_snapshots", healthy);
            await events.WaitForAsync(e => For(e, "portfolio.snapshot", healthy), count: events.Events.Count(e => For(e, "portfolio.snapshot", healthy)) + 2, seconds: 10);
            Assert.True(await topology.CountAsync("portfolio_snapshots", healthy) >= snapshots + 2);
            Assert.Equal(worker, topology.Topology.ProcessIdOf(ResourceNames.Worker));

            // A bot in error is stopped at once, and can be started again (here it fails the same way).
            var (stopped, stoppedBody) = await topology.PostJsonAsync($"/api/bots/{faulty}/stop");
            Assert.Equal((HttpStatusCode.Accepted, "stopped"), (stopped.StatusCode, stoppedBody.GetProperty("bot").GetProperty("status").GetString()));
        }
        finally
        {
            foreach (var bot in new[] { healthy, faulty }) (await topology.PostJsonAsync($"/api/bots/{bot}/stop")).Response.Dispose();
        }
    }

    /// <summary>
    /// The Market service hangs (SIGSTOP, so it cannot say so itself): the Worker's ticks give up on it after its market
    /// timeout, one system.notice says why (not one per tick), the bot stays running, and once the market answers again
    /// the bot ticks on.
    /// </summary>
    [Fact]
    public async Task A_hung_market_is_one_notice_from_the_worker_and_the_bot_ticks_on_once_it_answers()
    {
        await topology.SetPriceAsync("XRP/USDT", 2.2m);
        await using var events = await EventListener.StartAsync(topology);
        var bot = await topology.CreateBotAsync("""{"slow": 1000, "tick_seconds": 1}""", ["XRP/USDT"]);
        try
        {
            var (started, _) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            await events.WaitForAsync(e => For(e, "portfolio.snapshot", bot), count: 2, seconds: 20);

            var market = topology.Topology.ProcessIdOf(ResourceNames.Market);
            Signal("STOP", market);
            int snapshotsBefore;
            try
            {
                var notice = (await events.WaitForAsync(e => e.GetProperty("type").GetString() == "system.notice", seconds: 15))[0];
                Assert.StartsWith("Ticker fetch error: market unavailable: ", notice.GetProperty("data").GetProperty("message").GetString());
                snapshotsBefore = events.Events.Count(e => For(e, "portfolio.snapshot", bot));
                // An observation window of two more market timeouts (3 s each), within the notice interval: still one notice.
                await Task.Delay(TimeSpan.FromSeconds(7), Cancel);
                Assert.Single(events.OfType("system.notice"));
                Assert.Equal(snapshotsBefore, events.Events.Count(e => For(e, "portfolio.snapshot", bot))); // no tick without prices
                Assert.Equal("running", await topology.ScalarAsync($"SELECT status FROM bots WHERE id = {bot}"));
            }
            finally
            {
                Signal("CONT", market);
            }
            await events.WaitForAsync(e => For(e, "portfolio.snapshot", bot), count: snapshotsBefore + 2, seconds: 20);
            Assert.Equal("running", await topology.ScalarAsync($"SELECT status FROM jobs WHERE bot_id = {bot}"));
        }
        finally
        {
            (await topology.PostJsonAsync($"/api/bots/{bot}/stop")).Response.Dispose();
        }
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }
}
