using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using TradingBots.Tests;

namespace TradingBots.Bench;

/// <summary>
/// One tick of the Worker's bot loop (the real Worker process of the topology), as running bots and open trades grow:
/// bots on SOL/USDT (1 s candles, baseline fast 1 / slow 10, tick_seconds 3600 so that they tick only when the benchmark
/// makes every lease due at once), open trades seeded in the database (marked at a new price at every tick), and a burst where every bot buys in the same
/// tick (a price jump crosses the averages of all of them). Each point: the Worker's own breakdown of the tick (its
/// Debug line), the wall time from the claim to the last job's progress, and until every event of the tick was on Redis.
/// </summary>
public sealed partial class Ticks(HttpClient gateway, HttpClient sim, string database, ResourceLog workerLog, Action<string> say)
{
    public const string Symbol = "SOL/USDT";
    private const int TickSeconds = 3600;
    private readonly List<(long Bot, long Job)> _running = [];

    /// <summary>Environment for the Worker: its tick breakdown is logged at Debug.</summary>
    public static IReadOnlyDictionary<string, string> WorkerOverrides { get; } =
        new Dictionary<string, string> { ["Logging__LogLevel__TradingBots.Worker.BotTicker"] = "Debug" };

    public async Task RunAsync(int repeats)
    {
        await PinAsync(150m);
        say("| bots | open trades | orders | prices ms | marks ms | strategies + orders ms | progress ms | **tick ms** (Worker) | claim → last progress ms | events | until all on Redis ms |");
        say("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var bots in new[] { 10, 100, 1000 })
        {
            await StartBotsAsync(bots - _running.Count);
            await PointAsync(repeats);
        }
        // The burst: flat candles for longer than the slow average, then a jump: every bot's averages cross at once.
        await Task.Delay(TimeSpan.FromSeconds(11));
        await TickAsync(); // every bot judges the flat candles
        // The simulator's candle closes at the price of its end bound: a pin in this second would move the close of the
        // candle just judged (see the closing note); a second later it only moves candles not judged yet.
        // The first burst is the Worker's first orders (their code paths compiled on the way); then the price falls (every bot
        // sells what it bought) and jumps again (every bot buys): bursts of a Worker that has traded before.
        // Three falls and jumps, so that the later bursts are of a Worker whose order path is compiled at its last tier (a
        // profile of the first fall and jump found a fifth of the Worker's CPU in the JIT still).
        await BurstAsync(165m, "buys, the Worker's first orders");
        var warm = new List<(string Side, Result Burst)>();
        for (var round = 1; round <= 3; round++)
        {
            warm.Add(("sells", await BurstAsync(150m, $"sells, {round} of 3")));
            warm.Add(("buys", await BurstAsync(165m, $"buys, {round} of 3")));
        }
        // Then the open trades grow (the burst's 1,000 first), the price a cent higher at every tick, so that every trade's
        // mark changes (and the averages never cross down: nothing is sold).
        var price = 165m;
        foreach (var trades in new[] { 1_000, 10_000, 100_000 })
        {
            await SeedTradesAsync(trades - (int)await ScalarAsync<long>("SELECT count(*) FROM trades WHERE bot_id = ANY(@bots) AND status = 'open'", ("bots", Bots)));
            await PointAsync(repeats, () => PinAsync(price += 0.01m));
        }
        say("");
        foreach (var side in new[] { "sells", "buys" })
        {
            var bursts = warm.Where(w => w.Side == side).Select(w => w.Burst.Total).Order().ToList();
            say(string.Create(CultureInfo.InvariantCulture,
                $"The {side} bursts after the first (3 each): tick median **{bursts[1]:0} ms** ({string.Join(", ", bursts.Select(b => b.ToString("0", CultureInfo.InvariantCulture)))})."));
        }
    }

    /// <summary>Moves the price to <paramref name="to"/>: every bot's averages cross in the next tick, and each places one order.</summary>
    private async Task<Result> BurstAsync(decimal to, string what)
    {
        // A pin while the candle just judged is still open would move its close: first a candle after it has closed.
        var judged = (await ClosedAsync())[^1].OpenTime;
        await Eventually.UntilAsync(async () => (await ClosedAsync())[^1].OpenTime > judged, "a 1 s candle after the judged one closed",
            TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        await PinAsync(to);
        // Then two closed candles at the new price, fewer than the slow average's 10.
        await Eventually.UntilAsync(async () => (await ClosedAsync()).TakeLast(2).Count(c => c.Close == to) == 2,
            $"two closed 1 s candles at {to}", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));
        var burst = await TickAsync();
        say(Row(burst, what));
        if (burst.Orders != _running.Count) throw new InvalidOperationException($"the burst placed {burst.Orders} orders, not {_running.Count}");
        return burst;
    }

    private async Task PointAsync(int repeats, Func<Task>? beforeEach = null)
    {
        var runs = new List<Result>();
        for (var i = 0; i < repeats; i++)
        {
            if (beforeEach is not null) await beforeEach();
            runs.Add(await TickAsync());
        }
        say(Row(runs.OrderBy(r => r.Total).ElementAt(runs.Count / 2)));
    }

    private static string Row(Result r, string? orders = null) => string.Create(CultureInfo.InvariantCulture,
        $"| {r.Bots:N0} | {r.Trades:N0} | {r.Orders:N0}{(orders is null ? "" : $" ({orders})")} | {r.Prices:0.0} | {r.Marks:0.0} | {r.Decide:0.0} | {r.Progress:0.0} | **{r.Total:0.0}** | {r.Wall:0} | {r.Events:N0} | {r.Published:0} |");

    public sealed record Result(int Bots, int Trades, int Orders, double Prices, double Marks, double Decide, double Progress, double Total,
        double Wall, long Events, double Published);

    /// <summary>Makes every running bot's tick due now, waits for the Worker to run it and for its events to reach Redis.</summary>
    private async Task<Result> TickAsync()
    {
        var logFrom = workerLog.Count;
        var eventsBefore = await ScalarAsync<long>("SELECT coalesce(max(id), 0) FROM outbox_events");
        var watch = Stopwatch.StartNew();
        await ScalarAsync<long>("WITH due AS (UPDATE bot_leases SET next_tick_at = now() WHERE bot_id = ANY(@bots) RETURNING 1) SELECT count(*) FROM due", ("bots", Bots));
        // Done when the Worker has logged the tick of all of them (its last line of a tick, after the jobs' progress).
        string line;
        while ((line = ReadTickLine(logFrom)).Length == 0)
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(120)) throw new TimeoutException("the Worker did not log the tick within 120 s");
            await Task.Delay(20);
        }
        var wall = await ScalarAsync<double>("""
            SELECT extract(epoch FROM max(j.updated_at) - min(l.next_tick_at - make_interval(secs => @tick))) * 1000
            FROM bot_leases l JOIN jobs j ON j.id = l.job_id WHERE l.bot_id = ANY(@bots)
            """, ("bots", Bots), ("tick", (double)TickSeconds));
        while (await ScalarAsync<long>("SELECT count(*) FROM outbox_events WHERE published_at IS NULL") > 0) await Task.Delay(20);
        var published = watch.Elapsed.TotalMilliseconds;
        var events = await ScalarAsync<long>("SELECT coalesce(sum(CASE WHEN type = 'batch' THEN json_array_length(payload::json) ELSE 1 END), 0) FROM outbox_events WHERE id > @from",
            ("from", eventsBefore));
        var m = TickLine().Match(line);
        int I(string group) => int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
        double D(string group) => double.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
        return new Result(I("bots"), I("trades"), I("orders"), D("prices"), D("marks"), D("decide"), D("progress"), D("total"), wall, events, published);
    }

    private string ReadTickLine(int from)
    {
        var text = workerLog.From(from);
        return TickLine().Matches(text).Where(m => m.Groups["bots"].Value == _running.Count.ToString(CultureInfo.InvariantCulture))
            .Select(m => m.Value).LastOrDefault() ?? "";
    }

    [GeneratedRegex(@"Tick of (?<bots>\d+) bot\(s\), (?<trades>\d+) open trade\(s\), (?<orders>\d+) order\(s\): prices (?<prices>[\d.]+) ms, marks (?<marks>[\d.]+) ms, strategies and orders (?<decide>[\d.]+) ms, progress (?<progress>[\d.]+) ms, total (?<total>[\d.]+) ms")]
    private static partial Regex TickLine();

    /// <summary>Creates and starts bots through the API, and waits until the Worker has taken each (its first tick ran).</summary>
    private async Task StartBotsAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var response = await gateway.PostAsJsonAsync("/api/bots", new
            {
                name = $"bench-tick-{Guid.NewGuid():N}", symbols = new[] { Symbol }, timeframe = "1s",
                knobs = new Dictionary<string, decimal> { ["tick_seconds"] = TickSeconds, ["fast"] = 1, ["slow"] = 10, ["order_quote"] = 100, ["starting_cash"] = 1_000_000_000 },
            });
            response.EnsureSuccessStatusCode();
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var bot = body.RootElement.GetProperty("bot").GetProperty("id").GetInt64();
            using var started = await gateway.PostAsync($"/api/bots/{bot}/start", null);
            started.EnsureSuccessStatusCode();
            using var job = JsonDocument.Parse(await started.Content.ReadAsStringAsync());
            _running.Add((bot, job.RootElement.GetProperty("current_job").GetProperty("id").GetInt64()));
        }
        var deadline = Stopwatch.StartNew();
        while (await ScalarAsync<long>("SELECT count(*) FROM bot_leases WHERE bot_id = ANY(@bots) AND ticks >= 1", ("bots", Bots)) < _running.Count
            || await ScalarAsync<long>("SELECT count(*) FROM outbox_events WHERE published_at IS NULL") > 0)
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(120)) throw new TimeoutException("the bots were not all taken by the Worker");
            await Task.Delay(100);
        }
    }

    /// <summary>Open trades spread evenly over the running bots, written straight into the table (ids from its HiLo sequence).</summary>
    private async Task SeedTradesAsync(int count)
    {
        // Reserve a block of ids: the sequence hands out blocks of 10 from its value, so moving it past ours keeps them ours.
        var first = await ScalarAsync<long>("SELECT nextval('trades_hilo')");
        await ScalarAsync<long>("SELECT setval('trades_hilo', @last)", ("last", first + count + 10));
        await ScalarAsync<long>("""
            WITH seeded AS (
                INSERT INTO trades (id, bot_id, symbol, side, amount, price, status, cost_basis_quote, fees_paid_quote,
                                    unrealized_pnl_quote, realized_pnl_quote, pnl, created_at)
                SELECT @first + i, (@bots)[1 + i % cardinality(@bots)], @symbol, 'buy', 0.666666666667, 150, 'open', 100, 0.1, 0, 0, 0, now()
                FROM generate_series(0, @count - 1) AS i
                RETURNING 1)
            SELECT count(*) FROM seeded
            """, ("first", first), ("bots", Bots), ("symbol", Symbol), ("count", count));
        await ScalarAsync<long>("ANALYZE trades");
    }

    /// <summary>The market's closed 1 s candles of the symbol, the newest last (its open candle left out).</summary>
    private async Task<List<(long OpenTime, decimal Close)>> ClosedAsync()
    {
        var body = await gateway.GetStringAsync($"/api/market/ohlcv?symbol={Uri.EscapeDataString(Symbol)}&timeframe=1s&limit=4");
        using var json = JsonDocument.Parse(body);
        return [.. json.RootElement.EnumerateArray().SkipLast(1).Select(r => (r[0].GetInt64(), r[4].GetDecimal()))];
    }

    private async Task PinAsync(decimal price)
    {
        using var put = await sim.PutAsJsonAsync($"/sim/prices/{Symbol.Replace("/", "")}", new { price });
        put.EnsureSuccessStatusCode();
        await Task.Delay(1100); // the market's ticker cache window
    }

    private long[] Bots => [.. _running.Select(r => r.Bot)];

    private async Task<T> ScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return await command.ExecuteScalarAsync() is { } result and not DBNull
            ? (T)Convert.ChangeType(result, typeof(T), CultureInfo.InvariantCulture) : default!;
    }
}
