using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>Real processes killed and replicated: the AppHost restarts a dead service, and the outbox publishes once with replicas.</summary>
public sealed class ResilienceTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    /// <summary>
    /// SIGKILL of the Trading process under load: the gateway answers 503 naming it meanwhile, the AppHost starts it again,
    /// and the API answers within 10 s. Clients retry with their Idempotency-Key, so no order is lost or doubled.
    /// </summary>
    [Fact]
    public async Task A_killed_service_is_back_within_ten_seconds_and_no_order_is_lost_or_doubled()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        const int orders = 60;
        var keys = Enumerable.Range(0, orders).Select(_ => Guid.NewGuid().ToString()).ToArray();
        var answers = new ConcurrentDictionary<string, string>();
        var refusals = new ConcurrentBag<(HttpStatusCode Status, string Body)>();
        var created = 0;
        var next = -1;

        var deadline = DateTime.UtcNow.AddSeconds(60);
        // One order, sent again with its key (every 50 ms, until the deadline) until it is created.
        async Task<bool> OrderAsync(int i)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/api/orders")
                {
                    Content = JsonContent.Create(new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 10 }),
                };
                request.Headers.Add("Idempotency-Key", keys[i]);
                using var response = await topology.Gateway.SendAsync(request, Cancel);
                var body = await response.Content.ReadAsStringAsync(Cancel);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    Assert.True(answers.GetOrAdd(keys[i], body) == body, "a retry got the first answer back");
                    Interlocked.Increment(ref created);
                    return true;
                }
                refusals.Add((response.StatusCode, body));
                Assert.True(response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable, $"{response.StatusCode}: {body}");
            }
            catch (HttpRequestException)
            {
            }
            return false;
        }
        async Task ClientAsync()
        {
            for (var i = Interlocked.Increment(ref next); i < orders; i = Interlocked.Increment(ref next))
            {
                var order = i;
                await Eventually.UntilAsync(() => OrderAsync(order), $"order {order} created", deadline - DateTime.UtcNow, TimeSpan.FromMilliseconds(50), Cancel);
            }
        }

        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(ClientAsync, Cancel)).ToList();
        await Eventually.UntilAsync(() => Volatile.Read(ref created) >= 10, "10 orders created", deadline - DateTime.UtcNow, TimeSpan.FromMilliseconds(10), Cancel);
        var killed = await topology.ProcessIdOfAsync(ResourceNames.Trading);
        using var trading = Process.GetProcessById(killed);
        trading.Kill();
        var down = Stopwatch.StartNew();
        await trading.WaitForExitAsync(Cancel); // then no probe can reach the killed process
        await Eventually.UntilAsync(async () =>
        {
            using var probe = await topology.Gateway.GetAsync($"/api/trades?bot_id={bot}&limit=1", Cancel);
            return probe.StatusCode == HttpStatusCode.OK;
        }, "the trades API answers again after the kill", TimeSpan.FromSeconds(30), cancellationToken: Cancel);
        var back = down.Elapsed;
        await Task.WhenAll(clients);

        Assert.True(back < TimeSpan.FromSeconds(10), $"answering again {back.TotalSeconds:0.0} s after the kill");
        Assert.NotEqual(killed, await topology.ProcessIdOfAsync(ResourceNames.Trading));
        Assert.Equal(orders, answers.Count);
        Assert.Contains(refusals, r => r.Status == HttpStatusCode.ServiceUnavailable
            && JsonDocument.Parse(r.Body).RootElement.GetProperty("service").GetString() == ResourceNames.Trading);
        Assert.Equal(orders, await topology.CountAsync("orders", bot));
        Assert.Equal(orders, await topology.CountAsync("trades", bot));
        Assert.Equal(10000m - orders * 10.01m, (await topology.GetJsonAsync($"/api/portfolio/{bot}")).GetProperty("cash").GetDecimal());
    }

    /// <summary>Two Trading processes, both with an outbox publisher: one publishes, each event exactly once, in id order; the other takes over.</summary>
    [Fact]
    public async Task Two_trading_processes_publish_each_event_once_in_order()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        await using var events = await EventListener.StartAsync(topology);
        var replica = await topology.StartReplicaAsync(ResourceNames.Trading, Cancel);
        using var direct = new HttpClient { BaseAddress = new Uri(replica.Url) };
        try
        {
            // Orders through both processes, so both write to the outbox.
            await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
            {
                var client = i % 2 == 0 ? topology.Gateway : direct;
                using var response = await client.PostAsJsonAsync("/orders", new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 10 }, Cancel);
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            }));

            var opened = await events.WaitForAsync(e => IsOpenedFor(e, bot), count: 20, seconds: 15);
            await Task.Delay(1500, Cancel); // a second publisher would have sent its copies by now
            var ids = events.Events.Where(e => IsOpenedFor(e, bot)).Select(e => EventListener.LogId(e)).ToList();
            Assert.Equal(20, ids.Count);
            Assert.Equal(ids.Order(), ids);
            Assert.Equal(ids.Count, ids.Distinct().Count());
            // Both Trading processes (and the Worker and the Bots service, which write outbox rows too) stand ready: one leads.
            var (sessions, leaders) = await PublishersAsync();
            Assert.True(sessions >= 4, $"{sessions} publisher sessions");
            Assert.Equal(1L, leaders);
        }
        finally
        {
            Process.GetProcessById(replica.ProcessId).Kill();
        }

        // Whichever of the two published, events still flow once the replica is gone.
        var trade = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 10 });
        Assert.Equal(HttpStatusCode.Created, trade.Response.StatusCode);
        await events.WaitForAsync(e => IsOpenedFor(e, bot), count: 21, seconds: 15);
    }

    /// <summary>
    /// Trading is not the only publisher of the outbox: killed, another service's publisher (the Worker's or the Bots
    /// service's) takes the lock, and with Trading then held stopped (SIGSTOP), a bot started meanwhile still has its
    /// bot.state, job.progress and portfolio.snapshot on the stream. (Before, only Trading published: its events waited.)
    /// </summary>
    [Fact]
    public async Task With_trading_stopped_a_bots_events_still_reach_the_stream()
    {
        await topology.SetPriceAsync("SOL/USDT", 150m);
        await using var events = await EventListener.StartAsync(topology);
        await Eventually.UntilAsync(async () =>
        {
            var leader = await LeaderAsync();
            if (leader is not null && leader != await topology.ProcessIdOfAsync(ResourceNames.Trading)) return true;
            if (leader is { } pid) Process.GetProcessById(pid).Kill(); // Trading's: killed, so that another takes over
            return false;
        }, "a publisher other than Trading's took the outbox over", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200), Cancel);
        // Trading up again (its new process answers), then held stopped.
        using var alive = new HttpClient { BaseAddress = new Uri(topology.UrlOf(ResourceNames.Trading)) };
        await Eventually.UntilAsync(() => AnswersAsync(alive), "Trading answers again", cancellationToken: Cancel);
        var trading = await topology.ProcessIdOfAsync(ResourceNames.Trading);
        Signal("STOP", trading);
        long bot = 0;
        try
        {
            var (created, body) = await topology.PostJsonAsync("/api/bots", $$$"""
                {"name": "no-trading-{{{Guid.NewGuid():N}}}", "symbols": ["SOL/USDT"], "timeframe": "1m", "knobs": {"tick_seconds": 1, "slow": 1000}}
                """);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            bot = body.GetProperty("bot").GetProperty("id").GetInt64();
            var (started, _) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);

            await events.WaitForAsync(e => EventListener.Is(e, "bot.state", bot) && e.GetProperty("data").GetProperty("status").GetString() == "running", seconds: 15);
            await events.WaitForAsync(e => EventListener.Is(e, "job.progress", bot), seconds: 15);
            await events.WaitForAsync(e => EventListener.Is(e, "portfolio.snapshot", bot), seconds: 15);
        }
        finally
        {
            Signal("CONT", trading);
            if (bot != 0) (await topology.PostJsonAsync($"/api/bots/{bot}/stop")).Response.Dispose();
        }
    }

    private static async Task<bool> AnswersAsync(HttpClient service)
    {
        try
        {
            using var response = await service.GetAsync("/alive", Cancel);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static void Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>The process id of the outbox publisher holding the publishing lock (its session is named after it), or null.</summary>
    private async Task<int?> LeaderAsync()
    {
        await using var connection = await topology.OpenDatabaseAsync();
        await using var select = new NpgsqlCommand("""
            SELECT substr(a.application_name, length('outbox-publisher:') + 1)::int FROM pg_stat_activity a
            WHERE a.application_name LIKE 'outbox-publisher:%' AND EXISTS (SELECT FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted)
            """, connection);
        return await select.ExecuteScalarAsync(Cancel) as int?;
    }

    private static bool IsOpenedFor(JsonElement e, long bot) =>
        e.GetProperty("type").GetString() == "trade.opened" && e.GetProperty("data").GetProperty("bot_id").GetInt64() == bot;

    /// <summary>Sessions of outbox publishers, and how many of them hold the publishing lock.</summary>
    private async Task<(long Sessions, long Leaders)> PublishersAsync()
    {
        await using var connection = await topology.OpenDatabaseAsync();
        await using var count = new NpgsqlCommand("""
            SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted))
            FROM pg_stat_activity a WHERE a.application_name LIKE 'outbox-publisher:%'
            """, connection);
        await using var reader = await count.ExecuteReaderAsync(Cancel);
        await reader.ReadAsync(Cancel);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}
