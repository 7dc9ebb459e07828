using System.Globalization;
using System.Net.Http.Json;

using TradingBots.Tests;

namespace TradingBots.Bench;

/// <summary>
/// Resident memory of each service, idle after use: what a user does first (tickers, manual orders, backtests, a bot's
/// run and its stop, the pages' reads), then the system left alone for <see cref="Idle"/>; each process's VmRSS from /proc.
/// </summary>
public sealed class MemoryBench(HttpClient http, Func<string, Task<int>> pidOf, Action<string> say)
{
    public static readonly TimeSpan Idle = TimeSpan.FromSeconds(75);

    public async Task RunAsync()
    {
        var used = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 300; i++) (await http.GetAsync("/api/market/tickers?symbols=BTC/USDT,ETH/USDT")).Dispose();
        for (var i = 0; i < 200; i++)
            (await http.PostAsJsonAsync("/api/orders", new { symbol = "BTC/USDT", side = "buy", type = "market", quote_amount = 10 })).Dispose();
        foreach (var read in new[] { "/api/portfolio", "/api/trades?limit=100", "/api/strategies", "/api/bots", "/api/backtests", "/api/health" })
            (await http.GetAsync(read)).Dispose();

        var to = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 3_600_000 * 3_600_000;
        await BacktestAsync("1h", 30);
        // A year of 1m candles, twice: fetched and judged, then judged from the store (about 150 MiB allocated per run).
        await BacktestAsync("1m", 365);
        await BacktestAsync("1m", 365);

        using (var created = await http.PostAsJsonAsync("/api/bots", new { name = "memory-bench", symbols = new[] { "SOL/USDT" }, timeframe = "1m",
            knobs = new { tick_seconds = 1 } }))
        {
            var bot = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("bot").GetProperty("id").GetInt64();
            (await http.PostAsync($"/api/bots/{bot}/start", null)).Dispose();
            // Until its job says it ran 10 ticks ("10 tick(s) run…").
            await Eventually.UntilAsync(async () => (await http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/bots/{bot}")).GetProperty("current_job") is
                { ValueKind: System.Text.Json.JsonValueKind.Object } job && job.GetProperty("message").GetString() is { } said
                && int.TryParse(said.Split(' ')[0], out var ticks) && ticks >= 10, $"bot {bot} ticks 10 times", TimeSpan.FromMinutes(1));
            (await http.PostAsync($"/api/bots/{bot}/stop", null)).Dispose();
        }
        say($"Used for {used.Elapsed.TotalSeconds:0} s (300 ticker reads, 200 manual orders, a month of 1h candles and twice a year of 1m candles "
            + $"backtested, a bot run 10 ticks), then idle for {Idle.TotalSeconds:0} s.\n");
        await Task.Delay(Idle); // being idle for a while is what is measured: time itself is the condition

        // RssFile: mapped files (assemblies; the framework's are the same files in every service); RssShmem: the runtime's
        // executable memory (code and stubs, double-mapped from a memfd for W^X); RssAnon: the GC heap and native memory.
        say("| service | VmRSS after use, idle (MiB) | peak VmHWM (MiB) | RssAnon | RssFile | RssShmem |");
        say("|---|---|---|---|---|---|");
        foreach (var service in new[] { ResourceNames.Worker, ResourceNames.Bots, ResourceNames.Trading, ResourceNames.Gateway, ResourceNames.ExchangeSim,
            ResourceNames.Market, ResourceNames.Ai })
        {
            var pid = await pidOf(service);
            say($"| {service} | {Status(pid, "VmRSS") / 1024.0:0} | {Status(pid, "VmHWM") / 1024.0:0} | {Status(pid, "RssAnon") / 1024.0:0} | "
                + $"{Status(pid, "RssFile") / 1024.0:0} | {Status(pid, "RssShmem") / 1024.0:0} |");
        }
        say("");

        async Task BacktestAsync(string timeframe, int days)
        {
            using var backtest = await http.PostAsJsonAsync("/api/backtests",
                new { symbols = new[] { "ETH/USDT" }, timeframe, from = to - days * 24 * 3_600_000L, to });
            var id = (await backtest.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetInt64();
            var status = "queued";
            await Eventually.UntilAsync(async () => (status = (await http.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/backtests/{id}"))
                .GetProperty("job").GetProperty("status").GetString()!) is not ("queued" or "running"), $"backtest {id} ends", TimeSpan.FromMinutes(3));
            if (status != "completed") throw new InvalidOperationException($"backtest {id} of {days} days of {timeframe} candles ended {status}");
        }
    }

    private static long Status(int pid, string field) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal)).Split(' ',
            StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
}
