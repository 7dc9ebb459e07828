using System.IO.Compression;
using System.Net;

namespace TradingBots.IntegrationTests;

/// <summary>The dashboard as the gateway serves it: its page at / and at client routes, its bundle under budget, the API untouched.</summary>
public sealed class UiTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/")]
    [InlineData("/ui/")]
    [InlineData("/ui/bots")]
    [InlineData("/ui/bots/12345")]
    public async Task The_page_is_served_at_the_root_and_every_client_route(string path)
    {
        using var response = await topology.Gateway.GetAsync(path, Cancel);
        var html = await response.Content.ReadAsStringAsync(Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script type=\"module\" src=\"/ui/app.js\"></script>", html);
        Assert.Contains("<link rel=\"icon\" href=\"/ui/favicon.svg\" type=\"image/svg+xml\">", html);
    }

    /// <summary>The page names its icon, so a browser asks for it and not for a /favicon.ico that is not there (a 404 in its console).</summary>
    [Fact]
    public async Task The_icon_the_page_names_is_served()
    {
        using var response = await topology.Gateway.GetAsync("/ui/favicon.svg", Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/svg+xml", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("<svg", await response.Content.ReadAsStringAsync(Cancel));
    }

    [Fact]
    public async Task The_bundle_is_javascript_under_250_KB_gzipped()
    {
        using var response = await topology.Gateway.GetAsync("/ui/app.js", Cancel);
        var script = await response.Content.ReadAsByteArrayAsync(Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
        using var gzipped = new MemoryStream();
        await using (var gzip = new GZipStream(gzipped, CompressionLevel.SmallestSize, leaveOpen: true)) await gzip.WriteAsync(script, Cancel);
        Assert.InRange(gzipped.Length, 1_000, 250 * 1024);
    }

    [Theory]
    [InlineData("/bots")]
    [InlineData("/api/bots")]
    [InlineData("/api/strategies")]
    public async Task The_api_paths_stay_the_apis(string path)
    {
        using var response = await topology.Gateway.GetAsync(path, Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }
}
