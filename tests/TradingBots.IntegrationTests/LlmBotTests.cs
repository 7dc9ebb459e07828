using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>
/// A bot on the llm strategy, run by the Worker against the tests' Ollama stand-in: it starts only with a model Ollama
/// has, trades on the model's scripted decisions (buy, then sell) with exact figures, holds on a hold, a low confidence
/// and answers that are not decisions (each one a system.notice, the bot running on), and says every decision in its
/// job's message.
/// </summary>
public sealed class LlmBotTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_llm_bot_trades_on_the_models_decisions_and_holds_on_anything_else()
    {
        var model = $"trader-{Guid.NewGuid():N}"[..15] + ":3b";
        await topology.SetPriceAsync("XRP/USDT", 2m);
        await using var events = await EventListener.StartAsync(topology);
        var bot = await CreateAsync(model);

        // Not a model Ollama has: 400 naming the knob and the models there are; nothing starts.
        var (refused, refusal) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.StartsWith($"Ollama has no model '{model}'; it has: ", refusal.GetProperty("errors").GetProperty("knobs.model")[0].GetString());
        Assert.Equal(0L, await topology.CountAsync("jobs", bot));

        topology.Ollama.Models.Add(model);
        await WarmUpAsync(model);
        topology.Ollama.Script(model,
            new ChatReply.Content("""{"action":"buy","confidence":0.9,"reason":"breakout above the range"}"""),
            new ChatReply.Content("""{"action":"hold","confidence":0.7,"reason":"wait for confirmation"}"""),
            new ChatReply.Content("""{"action":"sell","confidence":0.4,"reason":"not sure"}"""),
            new ChatReply.Content("As an AI I cannot predict prices."),
            new ChatReply.Error(500, "llama runner process has terminated"),
            new ChatReply.Content("""{"action":"sell","confidence":0.95,"reason":"momentum faded"}"""));
        var messages = new ConcurrentQueue<string>();
        using var watching = new CancellationTokenSource();
        var watch = WatchMessagesAsync(bot, messages, "says sell (0.95): momentum faded", watching.Token);
        try
        {
            var (started, body) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            var job = body.GetProperty("current_job").GetProperty("id").GetInt64();

            var opened = (await events.WaitForAsync(e => EventListener.Is(e, "trade.opened", bot), seconds: 20))[0].GetProperty("data");
            Assert.Equal((50m, 2m, 100m, 0.1m), (opened.GetProperty("qty").GetDecimal(), opened.GetProperty("price").GetDecimal(),
                opened.GetProperty("cost_basis_quote").GetDecimal(), opened.GetProperty("fee_quote").GetDecimal()));
            var notice = (await events.WaitForAsync(e => e.GetProperty("type").GetString() == "system.notice"
                && e.GetProperty("data").GetProperty("message").GetString()!.StartsWith($"AI decision error: bot {bot} XRP/USDT: ", StringComparison.Ordinal), seconds: 20))[0];
            Assert.Contains("not a decision", notice.GetProperty("data").GetProperty("message").GetString());
            var closed = (await events.WaitForAsync(e => EventListener.Is(e, "trade.closed", bot), seconds: 20))[0].GetProperty("data");
            Assert.Equal(opened.GetProperty("trade_id").GetInt64(), closed.GetProperty("trade_id").GetInt64());
            Assert.Equal((2m, -0.2m, 0.2m), (closed.GetProperty("price").GetDecimal(), closed.GetProperty("realized_pnl_quote").GetDecimal(),
                closed.GetProperty("fees_paid_quote").GetDecimal()));
            // One trade, bought and sold; the low-confidence sell and the failures traded nothing.
            Assert.Single(events.Events, e => EventListener.Is(e, "trade.opened", bot));
            Assert.Equal(2L, await topology.CountAsync("orders", bot));

            // Every decision was said in the job's message as it ran, the ones that were not decisions too.
            await watch.WaitAsync(TimeSpan.FromSeconds(10), Cancel); // until the last one is said
            Assert.Contains(messages, m => m.Contains($"XRP/USDT: {model} says buy (0.9): breakout above the range; bought 100 of XRP/USDT"));
            Assert.Contains(messages, m => m.Contains($"XRP/USDT: {model} says hold (0.7): wait for confirmation"));
            Assert.Contains(messages, m => m.Contains($"XRP/USDT: {model} says sell (0.4): not sure"));
            Assert.Contains(messages, m => m.Contains($"XRP/USDT: no decision from {model}, holding (the AI service answered 502: {model}'s answer is not a decision: not JSON"));
            Assert.Contains(messages, m => m.Contains($"XRP/USDT: no decision from {model}, holding (the AI service answered 502: Ollama answered 500"));

            // The model saw its 5 (knobs.candles) closed candles and the open position once it had one.
            var asked = topology.Ollama.ChatRequests.Where(r => r.Contains($"\"model\":\"{model}\"", StringComparison.Ordinal)).Skip(1).ToList(); // after the warm-up
            Assert.True(asked.Count >= 6, $"{asked.Count} requests");
            var second = JsonDocument.Parse(asked[1]).RootElement.GetProperty("messages")[1].GetProperty("content").GetString()!;
            Assert.Equal(5, second.Split('\n').Count(line => line.StartsWith("20", StringComparison.Ordinal)));
            Assert.Contains("Open position: 50 bought at 2 for 100", second);

            var bots = await topology.GetJsonAsync($"/api/bots/{bot}");
            Assert.Equal("running", bots.GetProperty("bot").GetProperty("status").GetString());
            Assert.Equal(job, bots.GetProperty("current_job").GetProperty("id").GetInt64());
        }
        finally
        {
            await watching.CancelAsync();
            try { await watch; }
            catch (OperationCanceledException) { } // stopped before the last decision: the test's own failure says why
            await topology.PostJsonAsync($"/api/bots/{bot}/stop");
            topology.Ollama.Models.Remove(model);
        }
    }

    [Fact]
    public async Task An_llm_bot_does_not_start_while_the_models_cannot_be_listed()
    {
        var bot = await CreateAsync("llama3.2:3b");
        topology.Ollama.Down = true;
        try
        {
            var (refused, problem) = await topology.PostJsonAsync($"/api/bots/{bot}/start");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("ai", problem.GetProperty("dependency").GetString());
            Assert.Equal(0L, await topology.CountAsync("jobs", bot));
        }
        finally
        {
            topology.Ollama.Down = false;
        }
    }

    /// <summary>
    /// One decision through the AI service before the bot starts: on 1s candles an answer later than its candle is dropped
    /// (by design: it is about a candle no longer the newest), and a cold AI service's first answer can be that late.
    /// </summary>
    private async Task WarmUpAsync(string model)
    {
        topology.Ollama.Script(model, new ChatReply.Content("""{"action":"hold","confidence":0.5,"reason":"warming up"}"""));
        var (response, body) = await topology.PostJsonAsync("/api/ai/decisions", $$"""
            {"model": "{{model}}", "symbol": "XRP/USDT", "timeframe": "1s", "price": 2,
             "candles": [{"open_time": 1771819200000, "open": 2, "high": 2, "low": 2, "close": 2, "volume": 1}], "open_trades": []}
            """);
        Assert.True(response.StatusCode == HttpStatusCode.OK, body.ToString());
    }

    private async Task<long> CreateAsync(string model)
    {
        var (created, body) = await topology.PostJsonAsync("/api/bots", $$$"""
            {"name": "llm-{{{Guid.NewGuid():N}}}", "symbols": ["XRP/USDT"], "timeframe": "1s", "strategy": "llm",
             "knobs": {"model": "{{{model}}}", "prompt": "trade only strong moves", "candles": 5, "min_confidence": 0.6, "order_quote": 100, "tick_seconds": 1}}
            """);
        Assert.True(created.StatusCode == HttpStatusCode.Created, body.ToString());
        Assert.Equal("llm", body.GetProperty("bot").GetProperty("strategy").GetString());
        return body.GetProperty("bot").GetProperty("id").GetInt64();
    }

    /// <summary>
    /// Reads the bot's current job's message every 100 ms (each tick replaces it) and keeps each one seen, until one says
    /// <paramref name="last"/> (within the whole run's time).
    /// </summary>
    /// <summary>
    /// Every message the bot's job shows until one says <paramref name="last"/>. A tick's message lasts until the next tick's:
    /// a tick that waits for the model's answer writes its message late in its second, shortly before the next tick writes
    /// its own, so it is read every 20 ms (at 100 ms, a run under load missed the buy's message).
    /// </summary>
    private Task WatchMessagesAsync(long bot, ConcurrentQueue<string> messages, string last, CancellationToken stop) =>
        Eventually.UntilAsync(async () =>
        {
            try
            {
                var details = await topology.GetJsonAsync($"/api/bots/{bot}");
                if (details.GetProperty("current_job") is { ValueKind: JsonValueKind.Object } job && job.GetProperty("message").GetString() is { } message
                    && !messages.Contains(message)) messages.Enqueue(message);
            }
            catch (HttpRequestException) { }   // a moment's failure: read again
            return messages.Any(m => m.Contains(last));
        }, $"a job message that says \"{last}\"", TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(20), stop);
}
