using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace TradingBots.IntegrationTests;

/// <summary>
/// The AI service against the tests' Ollama stand-in, through the gateway: models from Ollama's /api/tags (added ones
/// show at once), health with Ollama's version, a decision asked in the JSON schema, and every way Ollama fails as a
/// ProblemDetails with the right status, quickly.
/// </summary>
public sealed class AiTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private OllamaStandIn Ollama => topology.Ollama;

    [Fact]
    public async Task Models_are_Ollamas_own_list_at_both_paths()
    {
        var model = $"test-{Guid.NewGuid():N}"[..13] + ":1b";
        var before = await topology.GetJsonAsync("/api/ai/models");
        Assert.DoesNotContain(before.GetProperty("models").EnumerateArray(), m => m.GetProperty("name").GetString() == model);

        Ollama.Models.Add(model);
        try
        {
            foreach (var path in new[] { "/ai/models", "/api/ai/models" })
            {
                var models = (await topology.GetJsonAsync(path)).GetProperty("models").EnumerateArray().ToList();
                var names = models.Select(m => m.GetProperty("name").GetString()!).ToList();
                Assert.Equal(Ollama.Models.Order(StringComparer.Ordinal), names);
                var listed = models.Single(m => m.GetProperty("name").GetString() == model);
                Assert.Equal(["name", "size", "modified_at", "digest", "family", "parameter_size", "quantization_level"], listed.EnumerateObject().Select(p => p.Name));
                Assert.Equal(("llama", "3.2B", "Q4_K_M"), (listed.GetProperty("family").GetString(), listed.GetProperty("parameter_size").GetString(),
                    listed.GetProperty("quantization_level").GetString()));
            }
        }
        finally
        {
            Ollama.Models.Remove(model);
        }
    }

    [Fact]
    public async Task Health_says_Ollama_answers_and_its_version()
    {
        var health = await topology.GetJsonAsync("/api/ai/health");
        Assert.Equal("reachable", health.GetProperty("status").GetString());
        Assert.Equal(Ollama.Version, health.GetProperty("version").GetString());
        Assert.Equal(Ollama.Url, health.GetProperty("ollama_url").GetString());
    }

    [Fact]
    public async Task Ollama_down_or_slow_is_a_503_that_says_so_at_once()
    {
        foreach (var (down, delay) in new[] { (true, TimeSpan.Zero), (false, TimeSpan.FromSeconds(4)) })
        {
            (Ollama.Down, Ollama.Delay) = (down, delay);
            try
            {
                foreach (var path in new[] { "/api/ai/models", "/ai/health" })
                {
                    var took = Stopwatch.StartNew();
                    using var response = await topology.Gateway.GetAsync(path, Cancel);
                    var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel)).RootElement;
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                    Assert.Equal("ollama", body.GetProperty("dependency").GetString());
                    Assert.Contains(down ? "is not reachable" : "did not answer within 1 s", body.GetProperty("detail").GetString());
                    Assert.True(took.Elapsed < TimeSpan.FromSeconds(3), $"{path} took {took.Elapsed}");
                }
            }
            finally
            {
                (Ollama.Down, Ollama.Delay) = (false, TimeSpan.Zero);
            }
        }
    }

    [Fact]
    public async Task A_decision_is_asked_in_the_schema_and_read_strictly()
    {
        var model = NewModel();
        try
        {
            Ollama.Script(model,
                new ChatReply.Content("""{"action":"buy","confidence":0.8,"reason":"higher lows"}"""),
                new ChatReply.Content("I would rather not give financial advice."),
                new ChatReply.Content("""{"action":"short","confidence":0.9,"reason":"down"}"""),
                new ChatReply.MidStreamError("{\"action\":", "llama runner process has terminated"),
                new ChatReply.Error(500, "model requires more system memory than is available"));
            var asked = Ollama.ChatRequests.Count;

            var (ok, advice) = await DecideAsync(model);
            Assert.Equal(HttpStatusCode.OK, ok);
            Assert.Equal("""{"action":"buy","confidence":0.8,"reason":"higher lows"}""", advice.GetRawText());

            // What Ollama was sent: the model, no streaming, the decision's JSON schema as the format, temperature 0, and
            // the candles and position in the user's message.
            using var request = JsonDocument.Parse(Ollama.ChatRequests[asked]);
            var sent = request.RootElement;
            Assert.Equal(model, sent.GetProperty("model").GetString());
            Assert.False(sent.GetProperty("stream").GetBoolean());
            Assert.Equal(["action", "confidence", "reason"], sent.GetProperty("format").GetProperty("required").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(["buy", "sell", "hold"], sent.GetProperty("format").GetProperty("properties").GetProperty("action").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(0, sent.GetProperty("options").GetProperty("temperature").GetDouble());
            var messages = sent.GetProperty("messages").EnumerateArray().ToList();
            Assert.Equal(["system", "user"], messages.Select(m => m.GetProperty("role").GetString()));
            Assert.Contains("Instructions from the bot's owner: be careful", messages[0].GetProperty("content").GetString());
            var user = messages[1].GetProperty("content").GetString()!;
            Assert.Contains("Symbol: BTC/USDT, timeframe 1m, price now 100250.5.", user);
            Assert.Contains("Open position: 0.001 bought at 100000 for 100", user);
            Assert.Contains("2026-02-23T04:01:00+00:00,100100,100300,100050,100250,12.5", user);

            foreach (var (status, detail) in new[]
            {
                (HttpStatusCode.BadGateway, "answer is not a decision: not JSON: I would rather not"),
                (HttpStatusCode.BadGateway, "answer is not a decision: action must be buy, sell or hold"),
                (HttpStatusCode.BadGateway, "Ollama answered 500"),
                (HttpStatusCode.BadGateway, "Ollama answered 500"),
            })
            {
                var (code, problem) = await DecideAsync(model);
                Assert.Equal(status, code);
                Assert.Contains(detail, problem.GetProperty("detail").GetString());
            }

            var (missing, missingProblem) = await DecideAsync("no-such-model:7b");
            Assert.Equal(HttpStatusCode.NotFound, missing);
            Assert.Equal("No such model", missingProblem.GetProperty("title").GetString());

            Ollama.Delay = TimeSpan.FromSeconds(5);
            var took = Stopwatch.StartNew();
            var (slow, slowProblem) = await DecideAsync(model);
            Assert.Equal(HttpStatusCode.GatewayTimeout, slow);
            Assert.Contains("did not answer within 2 s", slowProblem.GetProperty("detail").GetString());
            Assert.True(took.Elapsed < TimeSpan.FromSeconds(4), $"took {took.Elapsed}");
        }
        finally
        {
            Ollama.Delay = TimeSpan.Zero;
            Ollama.Models.Remove(model);
        }

        var (invalid, invalidProblem) = await PostAsync("""{"symbol": "BTC/USDT", "candles": []}""");
        Assert.Equal(HttpStatusCode.BadRequest, invalid);
        Assert.Equal(["model", "timeframe", "price", "candles"], invalidProblem.GetProperty("errors").EnumerateObject().Select(p => p.Name));
    }

    private string NewModel()
    {
        var model = $"trader-{Guid.NewGuid():N}"[..15] + ":3b";
        Ollama.Models.Add(model);
        return model;
    }

    private Task<(HttpStatusCode, JsonElement)> DecideAsync(string model) => PostAsync($$"""
        {"model": "{{model}}", "prompt": "be careful", "symbol": "BTC/USDT", "timeframe": "1m", "price": 100250.5,
         "candles": [{"open_time": 1771819200000, "open": 100000, "high": 100200, "low": 99900, "close": 100100, "volume": 10},
                     {"open_time": 1771819260000, "open": 100100, "high": 100300, "low": 100050, "close": 100250, "volume": 12.5}],
         "open_trades": [{"trade_id": 1, "symbol": "BTC/USDT", "qty": 0.001, "entry_price": 100000, "cost_basis_quote": 100, "fees_paid_quote": 0.1}]}
        """);

    private async Task<(HttpStatusCode, JsonElement)> PostAsync(string json)
    {
        var (response, body) = await topology.PostJsonAsync("/api/ai/decisions", json);
        return (response.StatusCode, body);
    }
}
