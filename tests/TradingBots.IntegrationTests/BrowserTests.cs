using System.Diagnostics;
using Microsoft.Playwright;
using TradingBots.Runner;
using static Microsoft.Playwright.Assertions;

namespace TradingBots.IntegrationTests;

/// <summary>
/// The dashboard in a real browser: Debian's Chromium (installed here when missing), driven by Playwright. Screenshots
/// go to storage/test-artifacts/screenshots/.
/// </summary>
public sealed class BrowserTests(TopologyFixture topology)
{
    private const string Chromium = "/usr/bin/chromium";

    private static string Screenshots => Path.Combine(Path.GetDirectoryName(RepoRoot.File("aspire-manifest.json"))!, "storage", "test-artifacts", "screenshots");

    [Fact]
    public async Task A_bot_is_refused_then_created_started_traded_and_stopped_from_its_pages()
    {
        await EnsureChromiumAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            // The machine's network is closed: no background connections, no component updates.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        await page.GotoAsync(topology.Topology.UrlOf(ResourceNames.Gateway) + "/ui/bots");
        await Expect(page.GetByRole(AriaRole.Status, new() { Name = "Live events" })).ToHaveTextAsync("live");

        // Refused by the API (fast must be below slow): the reason shows next to the knob, and no bot is made.
        var name = $"ui-{Guid.NewGuid():N}"[..15];
        await page.Locator("input[name=name]").FillAsync(name);
        await page.Locator("input[name='knobs.fast']").FillAsync("30");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create bot" }).ClickAsync();
        await Expect(page.Locator("[id='knobs.fast-error']")).ToHaveTextAsync("must be less than slow (21)");
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = "Bots" })).Not.ToContainTextAsync(name);

        await page.Locator("input[name='knobs.fast']").FillAsync("2");
        await page.Locator("input[name='knobs.slow']").FillAsync("3");
        await page.Locator("input[name='knobs.tick_seconds']").FillAsync("1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create bot" }).ClickAsync();
        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = name });
        await Expect(row).ToContainTextAsync("stopped");
        await Expect(row).ToContainTextAsync("baseline@1");

        // Started: the row turns running from the event stream, and its equity shows.
        await page.GetByRole(AriaRole.Button, new() { Name = $"start {name}" }).ClickAsync();
        await Expect(row.Locator("td.status")).ToHaveTextAsync("running", new() { Timeout = 15_000 });
        await Expect(row).ToContainTextAsync("10,000");
        Directory.CreateDirectory(Screenshots);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "bots-1280.png"), FullPage = true });
        await page.SetViewportSizeAsync(390, 844);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "bots-390.png"), FullPage = true });

        // Its page: a trade placed for it appears in its trades and its events, its equity curve and candles are drawn.
        await page.SetViewportSizeAsync(1280, 900);
        await row.GetByRole(AriaRole.Link, new() { Name = name }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = name })).ToBeVisibleAsync();
        var bot = long.Parse(new Uri(page.Url).Segments[^1]);
        var (order, body) = await topology.PostOrderAsync(new { bot_id = bot, symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 100 });
        Assert.Equal(System.Net.HttpStatusCode.Created, order.StatusCode);
        var trade = body.GetProperty("trade_id").GetInt64();
        await Expect(page.GetByRole(AriaRole.Table, new() { Name = "Trades" }).Locator($"tr[data-trade='{trade}']")).ToContainTextAsync("open");
        await Expect(page.GetByRole(AriaRole.List, new() { Name = "Live events" })).ToContainTextAsync("trade.opened");
        await Expect(page.GetByRole(AriaRole.List, new() { Name = "Live events" })).ToContainTextAsync("portfolio.snapshot", new() { Timeout = 10_000 });
        await Expect(page.GetByRole(AriaRole.Img, new() { Name = "Equity curve" }).Locator("canvas").First).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Img, new() { Name = "Candles of BTC/USDT 1m with the bot's trades" }).Locator("canvas").First).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "bot-1280.png"), FullPage = true });
        await page.SetViewportSizeAsync(390, 844);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "bot-390.png"), FullPage = true });

        await page.GetByRole(AriaRole.Button, new() { Name = $"stop {name}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status, new() { Name = "Bot status" })).ToContainTextAsync("stopped", new() { Timeout = 15_000 });
    }

    /// <summary>Debian's Chromium, installed from the distribution's packages when it is not there (as the servers are).</summary>
    private static async Task EnsureChromiumAsync()
    {
        if (File.Exists(Chromium)) return;
        var install = Process.Start(new ProcessStartInfo("bash", ["-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium || "
            + "(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await install.StandardOutput.ReadToEndAsync() + await install.StandardError.ReadToEndAsync();
        await install.WaitForExitAsync();
        if (!File.Exists(Chromium)) throw new InvalidOperationException($"Chromium could not be installed: {output}");
    }
}
