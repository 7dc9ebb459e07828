namespace TradingBots.Runner;

/// <summary>
/// Where the Market service reads prices: real Binance when it answers, else the bundled ExchangeSim (what the
/// manifest declares). <c>--binance sim|real|URL</c> or the BINANCE_BASE_URL variable decides explicitly.
/// </summary>
public static class MarketSource
{
    public const string RealBinance = "https://api.binance.com";

    /// <summary>The Binance base URL to give the market service, or null for the manifest's (the simulator), and why.</summary>
    public static async Task<(string? Url, string Description)> ChooseAsync(string? setting)
    {
        setting ??= Environment.GetEnvironmentVariable("BINANCE_BASE_URL");
        switch (setting)
        {
            case "sim":
                return (null, "ExchangeSim (chosen)");
            case "real":
                return (RealBinance, $"Binance at {RealBinance} (chosen)");
            case { Length: > 0 }:
                return (setting, $"{setting} (chosen)");
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var ping = await http.GetAsync($"{RealBinance}/api/v3/ping");
            if (ping.IsSuccessStatusCode) return (RealBinance, $"Binance at {RealBinance} (it answered /api/v3/ping)");
            return (null, $"ExchangeSim (Binance answered {(int)ping.StatusCode})");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return (null, "ExchangeSim (Binance did not answer /api/v3/ping within 3 s)");
        }
    }
}
