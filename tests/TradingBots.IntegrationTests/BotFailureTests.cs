using System.Diagnostics;
using System.Net;
using System.Text.Json;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>What goes wrong in a bot's run is that bot's, and the Worker says so: a strategy that throws, a market that hangs.</summary>
public sealed class BotFailureTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static bool For(JsonElement e, string type, long bot) => EventListener.Is(e, type, bot);

    /// <summary>
    /// A running bot whose row is edited by hand to knobs the API would refuse (tick_seconds a word, fast 0): that bot alone
    /// goes to error, its job failed naming each knob and why, with its bot.state; the bot beside it keeps its one-second
    /// tick, in the same Worker process (before, the schedule cast the knob's text in SQL, and every bot of every Worker
    /// stopped ticking).
    /// </summary>
    [Fact]
    public async Task Knobs_edited_by_hand_into_what_cannot_be_read_fail_that_bot_alone_and_the_others_keep_their_tick()
    {
        await topology.SetPriceAsync("XRP/USDT", 2.2m);
        await using var events = await EventListener.StartAsync(topology);
        var worker = await topology.ProcessIdOfAsync(ResourceNames.Worker);
        var faulty = await topology.CreateBotAsync("""{"slow": 1000, "tick_seconds": 1}""", ["XRP/USDT"]);
        var healthy = await topology.CreateBotAsync("""{"slow": 1000, "tick_seconds": 1}""", ["XRP/USDT"]);
        try
        {
            foreach (var bot in new[] { healthy, faulty })
            {
                var (started, _) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
                Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            }
            await events.WaitForAsync(e => For(e, "portfolio.snapshot", faulty), seconds: 20);
            await topology.ScalarAsync($$"""UPDATE bots SET knobs = '{"fast": 0, "slow": 1000, "tick_seconds": "soon"}' WHERE id = {{faulty}}""");

            var error = (await events.WaitForAsync(e => For(e, "bot.state", faulty) && e.GetProperty("data").GetProperty("status").GetString() == "error", seconds: 10))[0];
            var details = await topology.GetJsonAsync($"/api/bots/{faulty}");
            var job = details.GetProperty("current_job");
            Assert.Equal(("error", "failed", "unreadable knobs: knobs.fast must be from 1 to 500; knobs.tick_seconds must be an integer from 1 to 86400"),
                (details.GetProperty("bot").GetProperty("status").GetString(), job.GetProperty("status").GetString(), job.GetProperty("message").GetString()));
            Assert.Equal(job.GetProperty("id").GetInt64(), error.GetProperty("data").GetProperty("job_id").GetInt64());
            Assert.Equal(0L, await topology.ScalarAsync($"SELECT count(*) FROM bot_leases WHERE bot_id = {faulty}"));

            // The other bot keeps its tick of one second (four ticks within five seconds), in the same Worker process.
            var ticks = (int)(await topology.ScalarAsync($"SELECT ticks FROM bot_leases WHERE bot_id = {healthy}"))!;
            await Eventually.UntilAsync(async () => (int)(await topology.ScalarAsync($"SELECT ticks FROM bot_leases WHERE bot_id = {healthy}"))! >= ticks + 4,
                $"the healthy bot ticks 4 times after its {ticks}", TimeSpan.FromSeconds(5), cancellationToken: Cancel);
            Assert.Equal(worker, await topology.ProcessIdOfAsync(ResourceNames.Worker));

            // A bot in error is stopped at once, and its start with such knobs fails the same way, alone.
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

            var market = await topology.ProcessIdOfAsync(ResourceNames.Market);
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
