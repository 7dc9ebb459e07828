namespace TradingBots.AppHost;

/// <summary>
/// Where the Market service reads prices (<c>Binance:BaseUrl</c>): <c>sim</c> the bundled ExchangeSim, <c>real</c> Binance,
/// a URL of a Binance-compatible server, or unset: real Binance when it answers <c>/api/v3/ping</c> within 3 s, else
/// ExchangeSim. Publishing always describes ExchangeSim (the manifest is the same on every machine).
/// </summary>
public static class MarketSource
{
    public const string RealBinance = "https://api.binance.com";

    /// <summary>The Binance base URL to give the Market service, or null for the simulator, and why (printed on the console).</summary>
    public static (string? Url, string Why) Choose(IDistributedApplicationBuilder builder)
    {
        if (builder.ExecutionContext.IsPublishMode) return (null, "ExchangeSim (publishing)");
        switch (builder.Configuration["Binance:BaseUrl"]?.Trim())
        {
            case "sim":
                return (null, "ExchangeSim (Binance:BaseUrl=sim)");
            case "real":
                return (RealBinance, $"Binance at {RealBinance} (Binance:BaseUrl=real)");
            case { Length: > 0 } url when Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https":
                return (url, $"{url} (Binance:BaseUrl)");
            case { Length: > 0 } other:
                throw new CannotStartException($"Binance:BaseUrl must be sim, real or an http(s) URL, not '{other}'");
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            using var ping = http.GetAsync($"{RealBinance}/api/v3/ping").GetAwaiter().GetResult();
            return ping.IsSuccessStatusCode
                ? (RealBinance, $"Binance at {RealBinance} (it answered /api/v3/ping; Binance:BaseUrl=sim uses the simulator)")
                : (null, $"ExchangeSim (Binance answered {(int)ping.StatusCode}; Binance:BaseUrl=real insists)");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return (null, "ExchangeSim (Binance did not answer /api/v3/ping within 3 s; Binance:BaseUrl=real insists)");
        }
    }
}
