using System.Net.Http.Json;
using System.Text.Json;

namespace TradingBots.AppHost;

/// <summary>
/// Resource commands on the dashboard where they help a user: on Bots, stop every running bot; on ExchangeSim, pin a
/// symbol's price, inject a fault on every symbol, or reset it (the seeded walk, no pins, no faults). Each calls the
/// service's own API.
/// </summary>
public static class Commands
{
    public const string StopAllBots = "stop-all-bots", PinPrice = "pin-price", FaultError500 = "fault-error500", FaultLatency = "fault-latency", ResetSimulator = "reset-simulator";

    public static IResourceBuilder<ProjectResource> WithBotCommands(this IResourceBuilder<ProjectResource> bots) =>
        bots.WithCommand(StopAllBots, "Stop all bots", context => CallAsync(bots, StopAllAsync, context.CancellationToken),
            new CommandOptions
            {
                Description = "Asks every starting or running bot to stop (POST /bots/{id}/stop); each ends its run within one tick",
                ConfirmationMessage = "Stop every running bot?", IconName = "Stop", UpdateState = Running,
            });

    public static IResourceBuilder<ProjectResource> WithSimulatorCommands(this IResourceBuilder<ProjectResource> simulator) => simulator
        .WithCommand(PinPrice, "Pin price", context => CallAsync(simulator,
                (http, ct) => PinAsync(http, context.Arguments.GetString("symbol"), context.Arguments.GetString("price"), ct), context.CancellationToken),
            new CommandOptions
            {
                Description = "Holds a symbol at a price (its ticker, and the candle forming now) until reset",
                IconName = "Pin", UpdateState = Running,
                Arguments =
                [
                    new InteractionInput { Name = "symbol", Label = "Symbol", InputType = InputType.Text, Required = true, Placeholder = "BTCUSDT" },
                    new InteractionInput { Name = "price", Label = "Price", InputType = InputType.Text, Required = true, Placeholder = "100000" },
                ],
            })
        .WithCommand(FaultError500, "Inject fault: error 500", context => CallAsync(simulator,
                (http, ct) => PostAsync(http, "/sim/faults", new { mode = "error500" }, ct), context.CancellationToken),
            new CommandOptions { Description = "Every market-data request answers Binance's 500 until reset", IconName = "Warning", UpdateState = Running })
        .WithCommand(FaultLatency, "Inject fault: 2 s latency", context => CallAsync(simulator,
                (http, ct) => PostAsync(http, "/sim/faults", new { mode = "latency", latency_ms = 2000 }, ct), context.CancellationToken),
            new CommandOptions { Description = "Every market-data request answers 2 s late until reset", IconName = "Clock", UpdateState = Running })
        .WithCommand(ResetSimulator, "Reset simulator", context => CallAsync(simulator,
                (http, ct) => PostAsync(http, "/sim/reset", new { }, ct), context.CancellationToken),
            new CommandOptions { Description = "Back to the seeded walk: no pinned prices, no faults, counters zeroed", IconName = "ArrowReset", UpdateState = Running });

    private static ResourceCommandState Running(UpdateCommandStateContext context) =>
        context.ResourceSnapshot.HealthStatus is Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy ? ResourceCommandState.Enabled : ResourceCommandState.Disabled;

    private static async Task<ExecuteCommandResult> CallAsync(IResourceBuilder<ProjectResource> service, Func<HttpClient, CancellationToken, Task<string>> call,
        CancellationToken cancellationToken)
    {
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(service.GetEndpoint("http").Url), Timeout = TimeSpan.FromSeconds(30) };
            return CommandResults.Success(await call(http, cancellationToken));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or ArgumentException)
        {
            return CommandResults.Failure(ex.Message);
        }
    }

    private static async Task<string> PostAsync(HttpClient http, string path, object body, CancellationToken cancellationToken) =>
        await AnsweredAsync(path, await http.PostAsJsonAsync(path, body, cancellationToken), cancellationToken);

    private static async Task<string> PutAsync(HttpClient http, string path, object body, CancellationToken cancellationToken) =>
        await AnsweredAsync(path, await http.PutAsJsonAsync(path, body, cancellationToken), cancellationToken);

    /// <summary>The path and status when it succeeded; else the failure with the service's own answer (a ProblemDetails or Binance's error).</summary>
    private static async Task<string> AnsweredAsync(string path, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using (response)
        {
            if (!response.IsSuccessStatusCode)
                throw new HttpRequestException($"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
            return $"{path}: {(int)response.StatusCode}";
        }
    }

    /// <summary>PUT /sim/prices/{symbol} with the price as the decimal it was written (BTC/USDT or BTCUSDT).</summary>
    private static async Task<string> PinAsync(HttpClient http, string? symbol, string? price, CancellationToken cancellationToken)
    {
        var pair = symbol?.Trim().Replace("/", "", StringComparison.Ordinal).ToUpperInvariant();
        if (string.IsNullOrEmpty(pair) || !pair.All(char.IsAsciiLetterOrDigit))
            throw new ArgumentException($"symbol: '{symbol}' is not a symbol such as BTCUSDT");
        if (!decimal.TryParse(price, System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out var value) || value <= 0)
            throw new ArgumentException($"price: '{price}' is not a positive decimal such as 100000.5");
        return await PutAsync(http, $"/sim/prices/{pair}", new { price = value }, cancellationToken);
    }

    /// <summary>Every bot page by page (newest first); each starting or running one asked to stop.</summary>
    private static async Task<string> StopAllAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var stopped = 0;
        for (long? before = null; ;)
        {
            using var page = JsonDocument.Parse(await http.GetStringAsync($"/bots?limit=500{(before is { } b ? $"&before={b}" : "")}", cancellationToken));
            foreach (var bot in page.RootElement.GetProperty("bots").EnumerateArray())
            {
                if (bot.GetProperty("status").GetString() is not ("starting" or "running")) continue;
                using var stop = await http.PostAsync($"/bots/{bot.GetProperty("id").GetInt64()}/stop", null, cancellationToken);
                stop.EnsureSuccessStatusCode();
                stopped++;
            }
            if (page.RootElement.GetProperty("next_before") is not { ValueKind: JsonValueKind.Number } next) break;
            before = next.GetInt64();
        }
        return $"{stopped} bot(s) asked to stop";
    }
}
