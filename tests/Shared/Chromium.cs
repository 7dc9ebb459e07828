using System.Diagnostics;
using Microsoft.Playwright;

namespace TradingBots.Tests;

/// <summary>
/// Debian's Chromium for browser tests, driven by Playwright (whose own browser download cannot work here): installed
/// from the distribution's packages when it is not there (as the servers are), started headless with no background
/// connections (the machine's network is closed).
/// </summary>
public static class Chromium
{
    private const string Executable = "/usr/bin/chromium";

    public static async Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        await EnsureInstalledAsync();
        return await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    private static async Task EnsureInstalledAsync()
    {
        if (File.Exists(Executable)) return;
        var install = Process.Start(new ProcessStartInfo("bash", ["-c", "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium || "
            + "(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await install.StandardOutput.ReadToEndAsync() + await install.StandardError.ReadToEndAsync();
        await install.WaitForExitAsync();
        if (!File.Exists(Executable)) throw new InvalidOperationException($"Chromium could not be installed: {output}");
    }
}
