using System.Net;
using System.Text.Json;
using TradingBots.Tests;

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

    /// <summary>
    /// A body over the gateway's own cap (1 MiB), sent at once without Expect: 100-continue as most clients do: a 413
    /// ProblemDetails from the gateway (it was a 502 "trading failed to answer"), and nothing written.
    /// </summary>
    [Fact]
    public async Task A_body_over_the_gateways_cap_without_expect_continue_is_a_413_problem()
    {
        var bot = await topology.CreateBotAsync();
        var padding = new string(' ', 2 * 1024 * 1024);
        var body = $$"""{"bot_id":{{bot}},"symbol":"BTC/USDT","side":"buy","type":"market","quote_amount":10{{padding}}}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/orders") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.ExpectContinue = false;

        using var response = await topology.Gateway.SendAsync(request, Cancel);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel)).RootElement;
        Assert.Equal((413, "the request body is over the gateway's limit of 1048576 bytes"), (problem.GetProperty("status").GetInt32(), problem.GetProperty("detail").GetString()));
        Assert.Equal(0, await topology.CountAsync("orders", bot));
    }

    /// <summary>
    /// PostgreSQL restarted under a service holding pooled connections: the reads that come next each meet a dead
    /// connection, and each is run once more on a fresh one, so none of them is a 503.
    /// </summary>
    [Fact]
    public async Task Reads_right_after_a_postgres_restart_are_answered_not_503()
    {
        async Task<HttpStatusCode[]> ReadManyAsync() => await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            using var response = await topology.Gateway.GetAsync(i % 2 == 0 ? "/api/trades?limit=1" : "/api/jobs?limit=1", Cancel);
            return response.StatusCode;
        }));
        Assert.All(await ReadManyAsync(), status => Assert.Equal(HttpStatusCode.OK, status)); // the services' pools hold connections
        await topology.StopPostgresAsync();
        await topology.StartPostgresAsync();
        Npgsql.NpgsqlConnection.ClearAllPools(); // this test's own

        Assert.All(await ReadManyAsync(), status => Assert.Equal(HttpStatusCode.OK, status));
        await EveryServiceHealthyAsync();
    }

    [Fact]
    public async Task A_trades_cursor_out_of_range_is_a_400_naming_the_cursor()
    {
        using var response = await topology.Gateway.GetAsync("/api/trades?cursor=9223372036854775807-1", Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel)).RootElement;
        Assert.True(problem.GetProperty("errors").TryGetProperty("cursor", out _), problem.GetRawText());
    }

    [Theory]
    [InlineData("/orders", "post", new[] { "201", "400", "404", "409", "413", "422", "502", "503" })]
    [InlineData("/trades/{id}/close", "post", new[] { "200", "404", "409", "422", "502", "503" })]
    [InlineData("/trades", "get", new[] { "200", "400", "503" })]
    [InlineData("/portfolio", "get", new[] { "200", "400", "502", "503" })]
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

        await Eventually.UntilAsync(async () =>
        {
            (var retry, _) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 10 });
            return retry.StatusCode == HttpStatusCode.Created;
        }, "an order is created again", TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(200), Cancel);
        Assert.Equal(1, await topology.CountAsync("orders", bot));
        await EveryServiceHealthyAsync();
    }

    /// <summary>
    /// After a restart of the database every service's pooled connections are dead, each dropped when next used: waits
    /// until every service is healthy again, so the tests after this one find the system as it was.
    /// </summary>
    private async Task EveryServiceHealthyAsync()
    {
        foreach (var service in OwnAppHost.Services)
        {
            using var http = new HttpClient { BaseAddress = new Uri(topology.UrlOf(service)) };
            await Eventually.UntilAsync(async () =>
            {
                using var health = await http.GetAsync("/health", Cancel);
                return health.IsSuccessStatusCode;
            }, $"{service} healthy again", TimeSpan.FromSeconds(10), cancellationToken: Cancel);
        }
    }
}
