using System.Net;
using System.Text.Json;

namespace TradingBots.IntegrationTests;

/// <summary>Every failure is a ProblemDetails, and the OpenAPI documents list every status an endpoint answers.</summary>
public sealed class ProblemResponseTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/nothing-here")]
    [InlineData("/api/nothing-here")]
    public async Task An_unknown_path_is_a_404_problem(string path)
    {
        using var response = await topology.Gateway.GetAsync(path, Cancel);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(404, JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel)).RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task An_order_body_over_the_cap_is_a_413_problem_and_writes_nothing()
    {
        var bot = await topology.CreateBotAsync();
        var padding = new string(' ', 20 * 1024);
        var body = $$"""{"bot_id":{{bot}},"symbol":"BTC/USDT","side":"buy","type":"market","quote_amount":10{{padding}}}""";

        using var response = await topology.Gateway.PostAsync("/api/orders", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Cancel);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, await topology.CountAsync("orders", bot));
    }

    [Theory]
    [InlineData("/orders", "post", new[] { "201", "400", "404", "409", "413", "422", "502", "503" })]
    [InlineData("/trades/{id}/close", "post", new[] { "200", "404", "409", "422", "502", "503" })]
    [InlineData("/trades", "get", new[] { "200", "400", "503" })]
    [InlineData("/portfolio", "get", new[] { "200", "502", "503" })]
    [InlineData("/portfolio/{botId}", "get", new[] { "200", "404", "502", "503" })]
    [InlineData("/portfolio/{botId}/snapshots", "get", new[] { "200", "400", "404", "503" })]
    public async Task The_trading_document_lists_every_status_an_endpoint_answers(string path, string method, string[] statuses)
    {
        var document = await topology.GetJsonAsync("/openapi/trading.json");

        var responses = document.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses");

        Assert.Equal(statuses, responses.EnumerateObject().Select(r => r.Name).Order());
    }

    [Theory]
    [InlineData("v1", "/sse", "get", new[] { "200", "400", "404", "503" })]
    [InlineData("v1", "/api/sse", "get", new[] { "200", "400", "404", "503" })]
    [InlineData("ai", "/ai/models", "get", new[] { "200", "503" })]
    [InlineData("ai", "/ai/health", "get", new[] { "200", "503" })]
    [InlineData("ai", "/ai/decisions", "post", new[] { "200", "400", "404", "413", "502", "503", "504" })]
    [InlineData("bots", "/bots/{id}/start", "post", new[] { "200", "202", "400", "404", "409", "503" })]
    public async Task The_gateway_ai_and_bots_documents_list_every_status_an_endpoint_answers(string document, string path, string method, string[] statuses)
    {
        // v1: the gateway's own document (/sse); the others are the services', forwarded.
        var json = await topology.GetJsonAsync($"/openapi/{document}.json");

        var responses = json.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses");

        Assert.Equal(statuses, responses.EnumerateObject().Select(r => r.Name).Order());
        if (path.EndsWith("/sse", StringComparison.Ordinal))
            Assert.True(responses.GetProperty("200").GetProperty("content").TryGetProperty("text/event-stream", out _), responses.ToString());
    }

    [Fact]
    public async Task One_api_reference_covers_every_service_and_is_served_locally()
    {
        using var page = await topology.Gateway.GetAsync("/scalar/", Cancel);
        var html = await page.Content.ReadAsStringAsync(Cancel);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        foreach (var service in new[] { "market", "trading", "bots", "ai" })
        {
            Assert.Contains($"{service}.json", html);
            using var document = await topology.Gateway.GetAsync($"/openapi/{service}.json", Cancel);
            Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        }
        Assert.DoesNotContain("https://", html.Replace("https://github.com", "", StringComparison.Ordinal)); // nothing fetched from the internet
        using var script = await topology.Gateway.GetAsync("/scalar/scalar.js", Cancel);
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
    }

    /// <summary>The test run's own PostgreSQL stopped: the API answers 503 ProblemDetails with Retry-After, and recovers.</summary>
    [Fact]
    public async Task A_stopped_database_is_a_503_problem_with_retry_after_and_the_api_recovers()
    {
        await topology.SetPriceAsync("BTC/USDT", 100000m);
        var bot = await topology.CreateBotAsync();
        await topology.StopPostgresAsync();
        try
        {
            var (order, orderBody) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 10 });
            using var portfolio = await topology.Gateway.GetAsync("/api/portfolio", Cancel);
            using var trades = await topology.Gateway.GetAsync("/api/trades", Cancel);

            foreach (var response in new[] { order, portfolio, trades })
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
            }
            Assert.Equal(("Database unavailable", "database"), (orderBody.GetProperty("title").GetString(), orderBody.GetProperty("dependency").GetString()));
        }
        finally
        {
            await topology.StartPostgresAsync();
            Npgsql.NpgsqlConnection.ClearAllPools(); // this test's own pooled connections died with the server
        }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        HttpStatusCode status;
        do
        {
            await Task.Delay(200, Cancel);
            (var retry, _) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 10 });
            status = retry.StatusCode;
        } while (status != HttpStatusCode.Created && DateTime.UtcNow < deadline);
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(1, await topology.CountAsync("orders", bot));
        // Every service's pooled connections died with the server: each is dropped when next used (one 503 each).
        // Wait until every one is healthy again, so the tests after this one find the system as it was.
        foreach (var service in topology.Manifest.Resources.Where(r => r.IsProject && r.BindingNames.Any()))
        {
            using var http = new HttpClient { BaseAddress = new Uri(topology.Topology.UrlOf(service.Name)) };
            var healthy = false;
            for (var attempt = 0; attempt < 100 && !healthy; attempt++)
            {
                using var health = await http.GetAsync("/health", Cancel);
                healthy = health.IsSuccessStatusCode;
                if (!healthy) await Task.Delay(100, Cancel);
            }
            Assert.True(healthy, $"{service.Name} healthy again");
        }
    }
}
