using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using TradingBots.Backtests;
using TradingBots.Strategies;
using TradingBots.Tests;

namespace TradingBots.Bench;

/// <summary>
/// Backtests: the strategy + paper-rules loop in this process (<see cref="Backtester"/> over a year of 1m candles, baseline
/// with its default knobs), and whole backtests through the running system (POST /backtests → job completed: the Worker's
/// read of 525,600 stored candles (from their compact blocks, kept by the first read), the simulation and the artifacts), each with its parts timed in this process, next to
/// psql reading the same rows with COPY on the same server.
/// </summary>
public sealed class BacktestBench(HttpClient gateway, string database, Func<int> workerPid, Action<string> say)
{
    public const string Symbol = "BNB/USDT";
    private const long Minute = 60_000;
    public const int Candles = 525_600;

    public async Task RunAsync(int repeats)
    {
        var to = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Minute * Minute;
        var from = to - Candles * Minute;
        var knobs = """{"fast": 9, "slow": 21, "order_quote": 100}""";
        var strategy = StrategyRegistry.Find("baseline@1")!;
        var candles = Walk(from - 21 * Minute, Candles + 21);
        var setup = new BacktestSetup(strategy, KnobValues.Parse(knobs, StrategyRegistry.KnobsOf(strategy)), [Symbol], "1m", from, to, 10_000m, 0.001m);
        var input = new Dictionary<string, Candle[]> { [Symbol] = candles };

        // The loop alone: the candles in memory, nothing written.
        for (var i = 0; i < 3; i++) Backtester.Run(setup, input); // warm-up (JIT tiers), not reported
        var loops = new List<(double Seconds, long Allocated, BacktestResult Result)>();
        for (var i = 0; i < 2 * repeats - 1; i++)
        {
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var clock = Stopwatch.StartNew();
            var result = Backtester.Run(setup, input);
            loops.Add((clock.Elapsed.TotalSeconds, GC.GetTotalAllocatedBytes(precise: true) - allocated, result));
        }
        var loop = loops.OrderBy(l => l.Seconds).ElementAt(loops.Count / 2);
        say($"Strategy + paper-rules loop (baseline 9/21, {Candles:N0} candles of 1m in memory, {loop.Result.Trades.Count} trades), median of {loops.Count}: "
            + $"**{Candles / loop.Seconds:N0} candles/s** ({loop.Seconds * 1000:0} ms; runs {string.Join(", ", loops.Select(l => $"{l.Seconds * 1000:0}"))} ms), "
            + $"{loop.Allocated / 1024.0 / 1024:0} MiB allocated per run.\n");

        // Stored once (not timed): the year's candles and the warm-up before it, as the Worker would have fetched them.
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using (var clear = new NpgsqlCommand($"DELETE FROM candles WHERE symbol = '{Symbol}' AND timeframe = '1m'", connection)) await clear.ExecuteNonQueryAsync();
        foreach (var chunk in candles.Chunk(50_000)) await CandleStore.AddAsync(connection, Symbol, "1m", chunk, CancellationToken.None);
        await using (var analyze = new NpgsqlCommand("VACUUM ANALYZE candles", connection)) await analyze.ExecuteNonQueryAsync();

        // Its parts in this process, as the Worker does them: read (binary COPY), simulate, write the artifacts.
        var directory = Path.Combine(Path.GetTempPath(), $"tradingbots-bench-{Environment.ProcessId}");
        var parts = new List<(double Read, double Simulate, double Write)>();
        for (var i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            var read = await CandleStore.ReadAsync(connection, Symbol, "1m", from - 21 * Minute, to, CancellationToken.None);
            var readSeconds = clock.Elapsed.TotalSeconds;
            var result = Backtester.Run(setup, new Dictionary<string, Candle[]> { [Symbol] = read });
            var simulateSeconds = clock.Elapsed.TotalSeconds - readSeconds;
            await BacktestArtifacts.WriteAsync(directory, BacktestSummary.From(setup, result, 0), result, CancellationToken.None);
            parts.Add((readSeconds, simulateSeconds, clock.Elapsed.TotalSeconds - readSeconds - simulateSeconds));
        }
        var sizes = BacktestArtifacts.Names.ToDictionary(n => n, n => new FileInfo(Path.Combine(directory, n)).Length);
        Directory.Delete(directory, recursive: true);

        // End to end through the system: POST → the job's completion seen by GET (polled every 20 ms).
        var rssBefore = Rss(workerPid(), "VmRSS");
        // The Worker's first backtests after its start run its code as the JIT first compiled it: timed apart, as a warm-up.
        const int Warm = 2;
        var ends = new List<(double Seconds, string Message)>();
        for (var i = 0; i < Warm + repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            using var created = await gateway.PostAsJsonAsync("/api/backtests", new
            {
                symbols = new[] { Symbol }, timeframe = "1m", from, to, knobs = JsonDocument.Parse(knobs).RootElement,
            });
            created.EnsureSuccessStatusCode();
            var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();
            var job = (await EndedAsync("backtests", id)).GetProperty("job");
            ends.Add((clock.Elapsed.TotalSeconds, job.GetProperty("message").GetString()!));
        }
        var peak = Rss(workerPid(), "VmHWM");

        var copyBinary = Median(repeats, () => Psql(database, $"\\copy (SELECT open_time, open, high, low, close, volume FROM candles WHERE symbol = '{Symbol}' AND timeframe = '1m' AND open_time >= {from - 21 * Minute} AND open_time < {to} ORDER BY open_time) TO '/dev/null' (FORMAT binary)"));
        var copyText = Median(repeats, () => Psql(database, $"\\copy (SELECT open_time, open, high, low, close, volume FROM candles WHERE symbol = '{Symbol}' AND timeframe = '1m' AND open_time >= {from - 21 * Minute} AND open_time < {to} ORDER BY open_time) TO '/dev/null'"));
        var (warm, timed) = (ends[..Warm], ends[Warm..]);
        var end = timed.Select(e => e.Seconds).Order().ElementAt(timed.Count / 2);
        double Mid(Func<(double Read, double Simulate, double Write), double> part) => parts.Select(part).Order().ElementAt(parts.Count / 2) * 1000;

        say($"Whole backtest through the system, {Candles:N0} stored 1m candles of {Symbol} (+21 warm-up), median of {repeats}: "
            + $"**{end:0.00} s** POST → completed (runs {string.Join(", ", timed.Select(e => $"{e.Seconds:0.00}"))} s, after the Worker's first {Warm} "
            + $"after its start, {string.Join(", ", warm.Select(e => $"{e.Seconds:0.00}"))} s, its JIT warming; "
            + $"the job said \"{ends[^1].Message}\").\n");
        say("| part (this process, as the Worker does it) | median ms |");
        say("|---|---|");
        say($"| read the candles the first time (binary COPY through Npgsql into Candle records; their whole blocks kept) | {parts[0].Read * 1000:0} |");
        say($"| read them again (from the blocks kept; median of the {parts.Count - 1} later reads) | {parts.Skip(1).Select(p => p.Read).Order().ElementAt((parts.Count - 1) / 2) * 1000:0} |");
        say($"| simulate (Backtester) | {Mid(p => p.Simulate):0} |");
        say($"| write the artifacts ({string.Join(", ", sizes.Select(s => $"{s.Key} {s.Value / 1024.0:0} KiB"))}) | {Mid(p => p.Write):0} |");
        say($"| reference: `psql \\copy … TO /dev/null`, binary | {copyBinary * 1000:0} |");
        say($"| reference: `psql \\copy … TO /dev/null`, text | {copyText * 1000:0} |");
        say($"\nRatio end to end / psql binary COPY of the same rows: {end / copyBinary:0.0}. Worker memory: resident {rssBefore / 1024.0:0} MiB "
            + $"before the runs, peak {peak / 1024.0:0} MiB (VmHWM) after them.\n");

        // A parameter search over the stored year, its candles read once: 100 trials of baseline (fast 5–14 × slow 22–31).
        var search = Stopwatch.StartNew();
        var once = await CandleStore.ReadAsync(connection, Symbol, "1m", from - 31 * Minute, to, CancellationToken.None);
        var readOnce = search.Elapsed.TotalSeconds;
        var optimization = new OptimizationSetup(strategy, knobs, [new("fast", 5, 14, 1), new("slow", 22, 31, 1)], Random: false, Trials: null, Seed: 0,
            Metrics.Sharpe, Folds: 0, setup);
        var ranked = Optimizer.Run(optimization, new Dictionary<string, Candle[]> { [Symbol] = once });
        var best = ranked.Trials[0];
        say($"Parameter search, a grid of {ranked.Trials.Count} trials of baseline (fast 5–14 × slow 22–31, ranked by Sharpe) over the stored year "
            + $"({Candles:N0} 1m candles, read once in {readOnce * 1000:0} ms), on {Environment.ProcessorCount} cores: **{search.Elapsed.TotalSeconds:0.0} s** "
            + $"({ranked.Trials.Count * (double)Candles / (search.Elapsed.TotalSeconds - readOnce):N0} candle-trials/s); best fast {best.Knobs["fast"]}, "
            + $"slow {best.Knobs["slow"]}, Sharpe {best.Score}.\n");

        // The same search through the system: POST /optimizations → completed, its trials in chunks on the Worker's cores.
        var posted = Stopwatch.StartNew();
        using var started = await gateway.PostAsJsonAsync("/api/optimizations", new
        {
            symbols = new[] { Symbol }, timeframe = "1m", from, to, knobs = JsonDocument.Parse(knobs).RootElement, metric = Metrics.Sharpe,
            ranges = new[] { new { knob = "fast", from = 5, to = 14, step = 1 }, new { knob = "slow", from = 22, to = 31, step = 1 } },
        });
        started.EnsureSuccessStatusCode();
        var searchId = JsonDocument.Parse(await started.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();
        var done = await EndedAsync("optimizations", searchId);
        var through = posted.Elapsed.TotalSeconds;
        var top = done.GetProperty("summary").GetProperty("best")[0];
        say($"The same grid through the system (POST /optimizations → completed, one Worker, its trials in chunks on its cores; fills under the "
            + $"exchange's rules of today, as a bot's, where the run above applies none, so the figures differ): **{through:0.0} s**; best fast "
            + $"{top.GetProperty("knobs").GetProperty("fast")}, slow {top.GetProperty("knobs").GetProperty("slow")}, Sharpe {top.GetProperty("score")}.\n");
    }

    /// <summary>A job's view once it has ended (polled every 20 ms, so its end is timed to 20 ms); throws unless it completed.</summary>
    private async Task<JsonElement> EndedAsync(string path, long id)
    {
        JsonElement view = default;
        await Eventually.UntilAsync(async () => (view = JsonDocument.Parse(await gateway.GetStringAsync($"/api/{path}/{id}")).RootElement)
            .GetProperty("job").GetProperty("status").GetString() is "completed" or "failed" or "cancelled",
            $"{path} {id} ended", TimeSpan.FromMinutes(10), TimeSpan.FromMilliseconds(20));
        var job = view.GetProperty("job");
        return job.GetProperty("status").GetString() == "completed" ? view
            : throw new InvalidOperationException($"{path} {id} {job.GetProperty("status")}: {job.GetProperty("message")}");
    }

    /// <summary>A deterministic random walk of 1m candles from 500, two decimals (a fixed seed: every run judges the same path).</summary>
    private static Candle[] Walk(long start, int count)
    {
        var random = new Random(11);
        var candles = new Candle[count];
        var price = 500m;
        for (var i = 0; i < count; i++)
        {
            var open = price;
            price = Math.Max(1m, Math.Round(price + (decimal)(random.NextDouble() - 0.5) * 2m, 2));
            candles[i] = new Candle(start + i * Minute, open, Math.Max(open, price) + 0.1m, Math.Min(open, price) - 0.1m, price,
                Math.Round((decimal)random.NextDouble() * 100m, 4));
        }
        return candles;
    }

    /// <summary>A process's memory line from /proc (kB): VmRSS now, VmHWM its peak.</summary>
    private static long Rss(int pid, string field) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal)).Split(' ',
            StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    private static double Median(int repeats, Func<double> run) => Enumerable.Range(0, repeats).Select(_ => run()).Order().ElementAt(repeats / 2);

    /// <summary>Runs psql with one command on the database; its wall time in seconds (psql's own start included, as a user would see it).</summary>
    private static double Psql(string connectionString, string command)
    {
        var c = new NpgsqlConnectionStringBuilder(connectionString);
        var start = new ProcessStartInfo("psql", ["-h", c.Host!, "-p", c.Port.ToString(CultureInfo.InvariantCulture), "-U", c.Username!, "-d", c.Database!,
            "-v", "ON_ERROR_STOP=1", "-q", "-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["PGPASSWORD"] = c.Password ?? "";
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"psql: {output}");
        return clock.Elapsed.TotalSeconds;
    }
}
