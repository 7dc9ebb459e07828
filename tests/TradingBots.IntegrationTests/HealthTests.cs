using System.Net;
using System.Text.Json;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

public sealed class HealthTests(TopologyFixture topology)
{
    private static readonly string[] GatewayChecks = ["database", "redis", "broker", "artifacts"];

    [Theory]
    [InlineData("/health")]
    [InlineData("/api/health")]
    public async Task Gateway_health_names_every_check_and_passes(string path)
    {
        using var response = await topology.Gateway.GetAsync(path, TestContext.Current.CancellationToken);
        var body = await ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", body.GetProperty("status").GetString());
        var checks = body.GetProperty("checks");
        Assert.Equal(GatewayChecks.Order(), checks.EnumerateObject().Select(c => c.Name).Order());
        Assert.All(GatewayChecks, name => Assert.Equal("Healthy", checks.GetProperty(name).GetProperty("status").GetString()));
    }

    /// <summary>The artifacts directory is made on start-up; the public health answer says each check's status and no more.</summary>
    [Fact]
    public async Task Artifacts_directory_is_created_on_start_up_and_health_tells_no_paths_hosts_or_messages()
    {
        using var response = await topology.Gateway.GetAsync("/api/health", TestContext.Current.CancellationToken);
        var body = await ReadAsync(response);

        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("artifacts").GetProperty("status").GetString());
        Assert.True(Directory.Exists(topology.Artifacts));
        Assert.All(body.GetProperty("checks").EnumerateObject(),
            check => Assert.Equal(["status", "duration_ms"], check.Value.EnumerateObject().Select(p => p.Name)));
        var text = body.GetRawText();
        Assert.DoesNotContain("127.0.0.1", text);
        Assert.DoesNotContain(RepoRoot.Directory, text);
    }

    [Fact]
    public async Task A_stopped_redis_gives_503_naming_redis_while_the_services_stay_up()
    {
        var cancel = TestContext.Current.CancellationToken;
        await topology.StopRedisAsync();
        try
        {
            using var down = await topology.Gateway.GetAsync("/api/health", cancel);
            var checks = (await ReadAsync(down)).GetProperty("checks");

            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
            Assert.Equal("Unhealthy", checks.GetProperty("redis").GetProperty("status").GetString());
            Assert.All(GatewayChecks.Where(c => c != "redis"),
                name => Assert.Equal("Healthy", checks.GetProperty(name).GetProperty("status").GetString()));

            // Every service still answers its liveness probe: a Redis outage degrades, it does not crash.
            foreach (var service in OwnAppHost.Services)
            {
                using var http = new HttpClient();
                using var alive = await http.GetAsync($"{topology.UrlOf(service)}/alive", cancel);
                Assert.True(alive.IsSuccessStatusCode, $"{service} /alive answered {(int)alive.StatusCode}");
            }
        }
        finally
        {
            await topology.StartRedisAsync();
        }

        // And it recovers on its own once Redis is back.
        await Eventually.UntilAsync(async () =>
        {
            using var up = await topology.Gateway.GetAsync("/api/health", cancel);
            return up.StatusCode == HttpStatusCode.OK;
        }, "/api/health answers 200 again", TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(250), cancel);
    }

    private static async Task<JsonElement> ReadAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
}
