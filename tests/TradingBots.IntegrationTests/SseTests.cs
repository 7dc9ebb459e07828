using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using StackExchange.Redis;
using TradingBots.Events;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>
/// GET /sse through the gateway, read by a real HTTP client: the first frame and heartbeats, refusals, every event type
/// byte for byte as the services published it, the filters, resuming with Last-Event-ID (also across a gateway restart),
/// and a client that does not read being dropped without holding back one that does.
/// </summary>
public sealed class SseTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private string Gateway => topology.UrlOf(ResourceNames.Gateway);

    [Fact]
    public async Task The_stream_opens_at_once_and_beats()
    {
        var opened = Stopwatch.StartNew();
        await using var sse = await SseReader.OpenAsync(Gateway, "/api/sse");

        Assert.Equal(HttpStatusCode.OK, sse.Response.StatusCode);
        Assert.Equal("text/event-stream", sse.Response.Content.Headers.ContentType?.MediaType);
        Assert.True(sse.Response.Headers.CacheControl?.NoCache, "Cache-Control: no-cache");
        var first = (await sse.WaitForAsync(_ => true, seconds: 2))[0];
        Assert.Equal(("1000", "connected"), (first.Retry, first.Comment));
        Assert.True(opened.Elapsed < TimeSpan.FromSeconds(2), $"first frame after {opened.Elapsed}");
        // The test run's gateway beats every second (Sse__Heartbeat); two in a row, about a second apart.
        var beats = await sse.WaitForAsync(f => f.Comment == "heartbeat", count: 2, seconds: 4);
        var apart = sse.ArrivalOf(beats[1]) - sse.ArrivalOf(beats[0]);
        Assert.InRange(apart.TotalSeconds, 0.5, 2);
    }

    [Fact]
    public async Task Malformed_filters_and_ids_are_refused_naming_the_field()
    {
        foreach (var (query, header, field) in new[]
        {
            ("?bot_id=abc", (string?)null, "bot_id"), ("?job_id=-3", null, "job_id"), ("?bot_id=0", null, "bot_id"),
            ("", "yesterday", "Last-Event-ID"),
        })
        {
            var (status, body, response) = await SseReader.RefusedAsync(Gateway, "/sse" + query, header);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), body.ToString());
        }
        var (missing, missingBody, _) = await SseReader.RefusedAsync(Gateway, "/api/sse?job_id=999999999");
        Assert.Equal(HttpStatusCode.NotFound, missing);
        Assert.Equal("job 999999999 does not exist", missingBody.GetProperty("detail").GetString());

        var (bot, job) = await StartedBotAsync(maxTicks: 1);
        var other = await topology.CreateBotAsync();
        var (mismatch, mismatchBody, _) = await SseReader.RefusedAsync(Gateway, $"/sse?bot_id={other}&job_id={job}");
        Assert.Equal(HttpStatusCode.BadRequest, mismatch);
        Assert.Equal($"job {job} is not bot {other}'s", mismatchBody.GetProperty("errors").GetProperty("job_id")[0].GetString());
        await StoppedAsync(bot);
    }

    [Fact]
    public async Task Every_event_type_arrives_byte_for_byte_as_published_and_the_filters_choose()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        await using var channel = await EventListener.StartAsync(topology);
        // slow 1000: more closed candles than the market serves, so the strategy never trades; the trades here are the test's.
        var bot = await topology.CreateBotAsync("""{"tick_seconds": 1, "max_ticks": 2, "fee_rate": 0.001, "fast": 5, "slow": 1000}""");
        var neighbour = await topology.CreateBotAsync();
        await using var all = await SseReader.OpenAsync(Gateway, "/sse");
        await using var mine = await SseReader.OpenAsync(Gateway, $"/api/sse?bot_id={bot}");
        await all.WaitForAsync(f => f.Comment == "connected");
        await mine.WaitForAsync(f => f.Comment == "connected");

        var trade = await BuyAsync(bot);                                         // trade.opened
        await BuyAsync(neighbour);                                               // another bot's: not in "mine"
        var (started, startedBody) = await topology.PostJsonAsync($"/api/bots/{bot}/start");   // bot.state, then the ticks:
        Assert.True(started.IsSuccessStatusCode, startedBody.ToString());        // portfolio.snapshot, trade.updated, job.progress
        var job = startedBody.GetProperty("current_job").GetProperty("id").GetInt64();
        await using var ofJob = await SseReader.OpenAsync(Gateway, $"/sse?job_id={job}");
        await StoppedAsync(bot);                                                 // bot.state stopped after 2 ticks
        using (var closed = await topology.Gateway.PostAsync($"/api/trades/{trade}/close", null, Cancel))  // trade.closed
            Assert.Equal(HttpStatusCode.OK, closed.StatusCode);
        var notice = await NoticeAsync(channel);                                 // system.notice from the Market service

        await channel.WaitForAsync(e => EventListener.Is(e, "trade.closed", bot));
        foreach (var type in new[] { "trade.opened", "bot.state", "portfolio.snapshot", "trade.updated", "job.progress", "trade.closed" })
            Assert.Contains(channel.Events, e => EventListener.Is(e, type, bot));

        // Each of the bot's events and the notice, in both streams, exactly as on the channel: id, type, the data's bytes.
        var expected = channel.Raw.Select(Frame).Where(f => f.BotId == bot || f.Id == notice).ToList();
        var last = expected[^1].Id;
        await all.WaitForAsync(f => f.Id == last);
        await mine.WaitForAsync(f => f.Id == last);
        Assert.Equal(expected, [.. all.Events.Where(f => f.BotId == bot || f.Id == notice)]);
        Assert.Equal(expected, [.. mine.Events.Where(f => f.BotId == bot || f.Id == notice)]);
        Assert.All(mine.Events, f => Assert.True(f.BotId == bot || f.Event == "system.notice", $"{f.Event} {f.Data} in bot {bot}'s stream"));
        Assert.Contains(all.Events, f => f.BotId == neighbour);
        Assert.Equal(SpecFields, expected.DistinctBy(f => f.Event).ToDictionary(f => f.Event!, f => f.Json.EnumerateObject().Select(p => p.Name).ToArray()),
            new FieldsComparer());

        // The job's stream: its own bot.state and job.progress, and its bot's trades and snapshots while it ran; not the close after.
        await ofJob.WaitForAsync(f => f.Id == notice);
        var jobEvents = ofJob.Events.Where(f => f.Event != "system.notice").ToList();
        Assert.NotEmpty(jobEvents);
        Assert.All(jobEvents, f => Assert.Equal(bot, f.BotId));
        Assert.All(jobEvents.Where(f => f.Json.TryGetProperty("job_id", out _)), f => Assert.Equal(job, f.Json.GetProperty("job_id").GetInt64()));
        Assert.Contains(jobEvents, f => f.Event == "portfolio.snapshot");
        Assert.DoesNotContain(jobEvents, f => f.Event == "trade.closed");
        Assert.Equal("stopped", jobEvents.Last(f => f.Event == "bot.state").Json.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_client_that_resumes_with_Last_Event_ID_misses_nothing_and_gets_nothing_twice()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        await using var channel = await EventListener.StartAsync(topology);
        string lastSeen;
        await using (var first = await SseReader.OpenAsync(Gateway, $"/sse?bot_id={bot}"))
        {
            for (var i = 0; i < 3; i++) await BuyAsync(bot);
            lastSeen = (await first.WaitForAsync(f => f.Event == "trade.opened", count: 3))[2].Id!;
        }
        for (var i = 0; i < 5; i++) await BuyAsync(bot);                    // while the client is away
        await channel.WaitForAsync(e => EventListener.Is(e, "trade.opened", bot), count: 8);

        await using var resumed = await SseReader.OpenAsync(Gateway, $"/api/sse?bot_id={bot}", lastEventId: lastSeen);
        Assert.Equal($"connected, resuming after {lastSeen}", (await resumed.WaitForAsync(f => f.Comment is not null))[0].Comment);
        for (var i = 0; i < 2; i++) await BuyAsync(bot);                    // and live again
        var expected = (await channel.WaitForAsync(e => EventListener.Is(e, "trade.opened", bot), count: 10)).Skip(3).Select(e => e.GetProperty("id").GetString()).ToList();

        await resumed.WaitForAsync(f => f.Event == "trade.opened", count: 7);
        Assert.Equal(expected, resumed.Events.Where(f => f.Event == "trade.opened").Select(f => f.Id));
    }

    [Fact]
    public async Task Events_published_while_the_gateway_restarts_reach_a_client_that_resumes()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        await using var channel = await EventListener.StartAsync(topology);
        var sse = await SseReader.OpenAsync(Gateway, $"/sse?bot_id={bot}");
        await BuyAsync(bot);
        var lastSeen = (await sse.WaitForAsync(f => f.Event == "trade.opened"))[0].Id!;

        // The gateway dies (SIGKILL; the AppHost starts it again); orders go straight to the Trading service meanwhile.
        var gatewayPid = await topology.ProcessIdOfAsync(ResourceNames.Gateway);
        Process.GetProcessById(gatewayPid).Kill();
        using var trading = new HttpClient { BaseAddress = new Uri(topology.UrlOf(ResourceNames.Trading)) };
        for (var i = 0; i < 3; i++)
        {
            using var response = await trading.PostAsJsonAsync("/orders", new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 10 }, Cancel);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
        var missed = (await channel.WaitForAsync(e => EventListener.Is(e, "trade.opened", bot), count: 4)).Skip(1).Select(e => e.GetProperty("id").GetString()).ToList();
        await sse.WaitForEndAsync();
        await sse.DisposeAsync();

        await using var resumed = await ResumeAsync($"/api/sse?bot_id={bot}", lastSeen, TimeSpan.FromSeconds(30));
        Assert.NotEqual(gatewayPid, await topology.ProcessIdOfAsync(ResourceNames.Gateway));
        await resumed.WaitForAsync(f => f.Event == "trade.opened", count: 3);
        Assert.Equal(missed, resumed.Events.Where(f => f.Event == "trade.opened").Select(f => f.Id));
    }

    [Fact]
    public async Task A_client_connected_through_a_Redis_restart_gets_what_was_published_meanwhile_on_the_same_stream()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        await using var sse = await SseReader.OpenAsync(Gateway, $"/sse?bot_id={bot}");
        await BuyAsync(bot);
        await sse.WaitForAsync(f => f.Event == "trade.opened");

        // Redis stops: the orders commit (their events wait in the outbox), and are published once it is back, perhaps
        // before the gateway has subscribed again: the client reads those from the log.
        await topology.StopRedisAsync();
        try
        {
            for (var i = 0; i < 3; i++) await BuyAsync(bot);
        }
        finally
        {
            await topology.StartRedisAsync();
        }
        var opened = await sse.WaitForAsync(f => f.Event == "trade.opened", count: 4, seconds: 30);
        await BuyAsync(bot);                                                          // and live again
        opened = await sse.WaitForAsync(f => f.Event == "trade.opened", count: 5);
        Assert.False(sse.Ended);
        Assert.Equal(5, opened.Select(f => f.Json.GetProperty("trade_id").GetInt64()).Distinct().Count());
        Assert.Equal(opened.Select(f => f.LogId).Order(), opened.Select(f => f.LogId));
    }

    [Fact]
    public async Task Redis_down_is_a_503_for_a_plain_client_and_a_notice_then_the_end_for_an_EventSource()
    {
        await topology.StopRedisAsync();
        try
        {
            await WaitUntilAsync(async () => (await SseReader.RefusedAsync(Gateway, "/sse")).Status == HttpStatusCode.ServiceUnavailable, "/sse answers 503");
            var (status, body, response) = await SseReader.RefusedAsync(Gateway, "/api/sse");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Equal("redis", body.GetProperty("dependency").GetString());
            Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);

            // What a browser's EventSource sends: it would give up for good on a 503, so it gets a stream that says why and ends.
            await using var browser = await SseReader.OpenAsync(Gateway, "/sse", accept: "text/event-stream");
            Assert.Equal(HttpStatusCode.OK, browser.Response.StatusCode);
            await browser.WaitForEndAsync();
            var notice = Assert.Single(browser.Events);
            Assert.Equal(("system.notice", null), (notice.Event, notice.Id));
            Assert.StartsWith("The event stream is unavailable (Redis is not reachable)", notice.Json.GetProperty("message").GetString());
            Assert.Equal("1000", browser.Frames[0].Retry);
        }
        finally
        {
            await topology.StartRedisAsync();
        }
        await WaitUntilAsync(async () => (await SseReader.RefusedAsync(Gateway, "/api/health")).Status == HttpStatusCode.OK, "the gateway is healthy again");
    }

    /// <summary>Waits until the condition holds, a check that fails (a refused connection) counting as not yet.</summary>
    private static Task WaitUntilAsync(Func<Task<bool>> condition, string what, double seconds = 15) =>
        Eventually.UntilAsync(() => condition().ContinueWith(t => t.IsCompletedSuccessfully && t.Result), what, TimeSpan.FromSeconds(seconds),
            TimeSpan.FromMilliseconds(200), Cancel);

    [Fact]
    public async Task A_client_that_does_not_read_is_dropped_and_does_not_delay_one_that_does()
    {
        // A client that sends its request and never reads (a receive buffer of 4 KB), and one that reads.
        using var slow = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        var gateway = new Uri(Gateway);
        await slow.ConnectAsync(IPAddress.Loopback, gateway.Port, Cancel);
        await slow.SendAsync(Encoding.ASCII.GetBytes($"GET /sse HTTP/1.1\r\nHost: 127.0.0.1:{gateway.Port}\r\nAccept: text/event-stream\r\n\r\n"), Cancel);
        await using var fast = await SseReader.OpenAsync(Gateway, "/sse");
        await fast.WaitForAsync(f => f.Comment == "connected");

        // 50,000 notices (about 9 MB of frames: more than the loopback socket buffers and the gateway's 2,000-event buffer
        // hold), published as the services publish, on the test run's own Redis, in rounds of 1,000: each round reaches
        // the reading client promptly, whatever the other one does.
        const int rounds = 50, perRound = 1000;
        var run = Guid.NewGuid().ToString("N")[..8];
        await using var redis = await ConnectionMultiplexer.ConnectAsync(topology.RedisConnectionString);
        var publisher = new EventPublisher(redis);
        var latencies = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var events = Enumerable.Range(round * perRound, perRound).Select(i => ((long?)null, (RedisValue)EventPublisher.Tail(EventTypes.SystemNotice,
                Outbox.Payload(new SystemNotice($"burst {run} {i}", DateTimeOffset.UtcNow))))).ToList();
            await Task.WhenAll(publisher.PublishBatchAsync(events).Select(c => c.Call));
            var published = DateTime.UtcNow;
            var last = $"burst {run} {(round + 1) * perRound - 1}\"";
            var arrived = (await fast.WaitForAsync(f => f.Data?.Contains(last) == true, seconds: 10))[0];
            latencies.Add((fast.ArrivalOf(arrived) - published).TotalMilliseconds);
        }
        var mine = fast.Events.Where(f => f.Data?.Contains($"burst {run} ") == true).ToList();
        Assert.Equal(Enumerable.Range(0, rounds * perRound).Select(i => $"burst {run} {i}"), mine.Select(f => f.Json.GetProperty("message").GetString()));
        latencies.Sort();
        Assert.True(latencies[rounds / 2] < 500, $"a round reached the reading client after {latencies[rounds / 2]:0} ms (median; max {latencies[^1]:0} ms)");

        // The slow client's connection was closed by the gateway: reading now drains what was buffered, then ends.
        var buffer = new byte[64 * 1024];
        long received = 0;
        using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var closed = true;
        try
        {
            while (await slow.ReceiveAsync(buffer, drain.Token) is var n and > 0) received += n;
        }
        catch (SocketException) { }   // reset: the same verdict
        catch (OperationCanceledException) { closed = false; }
        Assert.True(closed, "the gateway never closed the slow client's connection");
        Assert.True(received < mine.Sum(f => f.Data!.Length), $"the slow client got {received} bytes: it was not dropped");
    }

    private Task<SseReader> ResumeAsync(string path, string lastEventId, TimeSpan within) =>
        Eventually.UntilAsync(async () =>
        {
            try
            {
                var reader = await SseReader.OpenAsync(Gateway, path, lastEventId);
                if (reader.Response.StatusCode == HttpStatusCode.OK) return reader;
                await reader.DisposeAsync();
            }
            catch (HttpRequestException) { }
            return null;
        }, "the gateway came back", within, TimeSpan.FromMilliseconds(200), Cancel);

    /// <summary>The spec's fields of each event type, in its order.</summary>
    private static readonly Dictionary<string, string[]> SpecFields = new()
    {
        ["bot.state"] = ["bot_id", "status", "job_id", "ts"],
        ["portfolio.snapshot"] = ["bot_id", "equity", "cash", "positions_value", "ts"],
        ["job.progress"] = ["bot_id", "job_id", "status", "progress", "ts"],
        ["trade.opened"] = ["bot_id", "trade_id", "order_id", "symbol", "qty", "price", "cost_basis_quote", "fee_quote", "ts"],
        ["trade.updated"] = ["bot_id", "trade_id", "symbol", "price", "unrealized_pnl_quote", "ts"],
        ["trade.closed"] = ["bot_id", "trade_id", "order_id", "symbol", "price", "realized_pnl_quote", "fees_paid_quote", "ts"],
        ["system.notice"] = ["message", "ts"],
    };

    private sealed class FieldsComparer : IEqualityComparer<Dictionary<string, string[]>>
    {
        public bool Equals(Dictionary<string, string[]>? x, Dictionary<string, string[]>? y) =>
            x!.Count == y!.Count && x.All(kv => y.TryGetValue(kv.Key, out var v) && v.SequenceEqual(kv.Value));

        public int GetHashCode(Dictionary<string, string[]> obj) => obj.Count;
    }

    /// <summary>The frame an envelope from the channel should be: its id, its type, its data's exact text.</summary>
    private static SseFrame Frame(string envelope)
    {
        using var json = JsonDocument.Parse(envelope);
        var id = json.RootElement.GetProperty("id").GetString()!;
        var type = json.RootElement.GetProperty("type").GetString()!;
        var prefix = $"{{\"id\":\"{id}\",\"type\":\"{type}\",\"data\":";
        Assert.StartsWith(prefix, envelope);
        return new SseFrame(id, type, envelope[prefix.Length..^1], null, null);
    }

    private async Task<long> BuyAsync(long bot)
    {
        var (response, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 10 });
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {body}");
        return body.GetProperty("trade_id").GetInt64();
    }

    private async Task<(long Bot, long Job)> StartedBotAsync(int maxTicks)
    {
        var bot = await topology.CreateBotAsync($$"""{"tick_seconds": 1, "max_ticks": {{maxTicks}}}""");
        var (started, body) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
        Assert.True(started.IsSuccessStatusCode, body.ToString());
        return (bot, body.GetProperty("current_job").GetProperty("id").GetInt64());
    }

    private Task StoppedAsync(long bot) =>
        Eventually.UntilAsync(async () => (await topology.GetJsonAsync($"/api/bots/{bot}")).GetProperty("bot").GetProperty("status").GetString() == "stopped",
            $"bot {bot} stopped", TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200), Cancel);

    /// <summary>A system.notice from the Market service (a malformed exchange answer for a symbol), its id on the channel.</summary>
    private async Task<string> NoticeAsync(EventListener channel)
    {
        var before = channel.Events.Count;
        using (var fault = await topology.Sim.PostAsJsonAsync("/sim/faults", new { mode = "malformed", symbols = new[] { "SOLUSDT" } }, Cancel))
            fault.EnsureSuccessStatusCode();
        try
        {
            return await Eventually.UntilAsync(async () =>
            {
                using (await topology.Gateway.GetAsync("/api/market/tickers?symbols=SOL/USDT", Cancel)) { }
                var notice = channel.Events.Skip(before).FirstOrDefault(e => e.GetProperty("type").GetString() == "system.notice");
                return notice.ValueKind != JsonValueKind.Undefined ? notice.GetProperty("id").GetString()! : null;
            }, "a system.notice from the market", TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(500), Cancel);
        }
        finally
        {
            await topology.ClearFaultsAsync();
        }
    }
}
