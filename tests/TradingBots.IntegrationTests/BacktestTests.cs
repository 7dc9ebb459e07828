using System.Globalization;
using System.Net;
using System.Text.Json;

namespace TradingBots.IntegrationTests;

/// <summary>
/// POST /backtests end to end: the Worker fetches the range's candles from ExchangeSim through the Market service (once),
/// runs baseline on them, and leaves the summary, the CSVs and the charts; bad requests are refused naming the field.
/// </summary>
public sealed class BacktestTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private const long Hour = 3_600_000;

    /// <summary>
    /// A week of 1h BNB/USDT candles (168, 8 before it for baseline's warm-up with slow 8, and the one after): the first run fetches those 177
    /// from the exchange, reports its download then its simulation by job.progress, and completes; its CSVs and figures agree
    /// with each other and with the exchange's own klines; the same backtest again fetches nothing and gives the same files.
    /// </summary>
    [Fact]
    public async Task A_week_of_hourly_candles_completes_with_its_summary_csvs_and_charts_and_a_second_run_fetches_nothing()
    {
        await using var events = await EventListener.StartAsync(topology);
        // Ending an hour before the current hour: the candle after the range has closed, so both runs fill the last candle's
        // orders at its open whenever they start (a range ending at the current hour changed that at the hour's turn).
        var to = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Hour * Hour - Hour;
        var from = to - 168 * Hour;
        var request = $$"""
            {"strategy": "baseline", "version": 1, "knobs": {"fast": 3, "slow": 8, "order_quote": 1000}, "symbols": ["BNB/USDT"],
             "timeframe": "1h", "from": "{{Iso(from)}}", "to": {{to}}}
            """;

        var (first, firstSummary) = await RunAsync(request, events);
        Assert.Equal(168, firstSummary.GetProperty("candles").GetInt32());
        Assert.Equal(177, firstSummary.GetProperty("candles_fetched").GetInt32()); // and the one after the range
        Assert.Equal(176L, await topology.ScalarAsync($"SELECT count(*) FROM candles WHERE symbol = 'BNB/USDT' AND timeframe = '1h' AND open_time >= {from - 8 * Hour} AND open_time < {to}"));

        // Progress came in order: queued, taken, the download done (50: one page), the simulation (above 50, reported every
        // 250 ms: 168 candles may end before the first report), completed. The year in the next test shows the download's steps.
        var progress = events.OfType("job.progress").Select(e => e.GetProperty("data")).Where(d => d.GetProperty("job_id").GetInt64() == first)
            .Select(d => (Status: d.GetProperty("status").GetString(), Progress: d.GetProperty("progress").GetInt32())).ToList();
        Assert.Equal([("queued", 0), ("running", 0), ("running", 50)], progress[..3]);
        Assert.Equal(("completed", 100), progress[^1]);
        Assert.All(progress[3..^1], p => Assert.True(p is { Status: "running", Progress: > 50 and < 100 }, $"{p}"));

        // The figures against the exchange's klines and the artifacts.
        using var klines = JsonDocument.Parse(await topology.Sim.GetStringAsync($"/api/v3/klines?symbol=BNBUSDT&interval=1h&startTime={from}&limit=169", Cancel));
        var closes = klines.RootElement.EnumerateArray().ToDictionary(k => k[0].GetInt64(), k => decimal.Parse(k[4].GetString()!, CultureInfo.InvariantCulture));
        var opens = klines.RootElement.EnumerateArray().ToDictionary(k => k[0].GetInt64(), k => decimal.Parse(k[1].GetString()!, CultureInfo.InvariantCulture));
        Assert.Equal(Math.Round(closes[to - Hour] / closes[from] - 1, 12, MidpointRounding.ToEven), firstSummary.GetProperty("buy_and_hold_return").GetDecimal());

        var trades = Csv(await ArtifactAsync(first, "trades.csv", "text/csv"));
        var equity = Csv(await ArtifactAsync(first, "equity.csv", "text/csv"));
        Assert.Equal("id,symbol,opened_at,entry_price,qty,cost_basis_quote,fees_paid_quote,open_reason,closed_at,exit_price,proceeds_quote,realized_pnl_quote,close_reason",
            string.Join(',', trades[0]));
        Assert.Equal(["time", "equity", "cash", "drawdown"], equity[0]);
        Assert.Equal(170, equity.Count); // the header, the start, one point per candle
        // The start; the first candle's close: 10000 still (a buy decided on the first candle fills at the next one's open); the end.
        Assert.Equal([(Iso(from), 10000m), (Iso(from + Hour), 10000m), (Iso(to), Dec(equity[^1][1]))],
            new[] { equity[1], equity[2], equity[^1] }.Select(r => (r[0], Dec(r[1]))));
        Assert.Equal(firstSummary.GetProperty("final_equity").GetDecimal(), decimal.Parse(equity[^1][1], CultureInfo.InvariantCulture));
        Assert.True(trades.Count > 1, "baseline 3/8 trades at least once in a week of the simulator's hourly walk");
        foreach (var trade in trades.Skip(1))
        {
            // Each fill at the open of the candle after the one it was judged on, stamped with that open (opened_at, closed_at); on
            // the simulator that open is the judged candle's close. Under the exchange's rules (the default) the quantity of
            // 1000 is on BNB/USDT's step 0.001.
            Assert.Equal(opens[Ms(trade[2])], decimal.Parse(trade[3], CultureInfo.InvariantCulture));
            Assert.Equal(closes[Ms(trade[2]) - Hour], opens[Ms(trade[2])]);
            Assert.Equal(Math.Floor(1000m / Dec(trade[3]) / 0.001m) * 0.001m, Dec(trade[4]));
            if (trade[8].Length > 0) Assert.Equal(opens[Ms(trade[8])], decimal.Parse(trade[9], CultureInfo.InvariantCulture));
        }
        Assert.Equal(trades.Skip(1).Count(t => t[8].Length > 0), firstSummary.GetProperty("trade_count").GetInt32());
        Assert.Equal(trades.Skip(1).Sum(t => decimal.Parse(t[6], CultureInfo.InvariantCulture)), firstSummary.GetProperty("fees_paid").GetDecimal());
        Assert.Equal(JsonDocument.Parse(await ArtifactAsync(first, "summary.json", "application/json")).RootElement.GetRawText(), firstSummary.GetRawText());
        foreach (var chart in new[] { "equity.png", "drawdown.png" })
        {
            var png = await topology.Gateway.GetByteArrayAsync($"/api/backtests/{first}/artifacts/{chart}", Cancel);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
            Assert.Equal((1200, 500), (BigEndian(png, 16), BigEndian(png, 20))); // IHDR width and height
        }
        Assert.True(File.Exists(Path.Combine(topology.Artifacts, first.ToString(CultureInfo.InvariantCulture), "trades.csv")));

        // Again: every candle is stored, the exchange is asked for none, and the run is the same.
        var (second, secondSummary) = await RunAsync(request, events);
        Assert.Equal(0, secondSummary.GetProperty("candles_fetched").GetInt32());
        Assert.Equal(firstSummary.GetProperty("total_return").GetDecimal(), secondSummary.GetProperty("total_return").GetDecimal());
        Assert.Equal(await ArtifactAsync(first, "trades.csv", "text/csv"), await ArtifactAsync(second, "trades.csv", "text/csv"));
        Assert.Equal(await ArtifactAsync(first, "equity.csv", "text/csv"), await ArtifactAsync(second, "equity.csv", "text/csv"));

        var (late, problem) = await topology.PostJsonAsync($"/api/jobs/{first}/cancel");
        Assert.Equal((HttpStatusCode.Conflict, $"job {first} is completed already"), (late.StatusCode, problem.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task A_running_backtest_reports_its_download_and_is_cancelled_at_once()
    {
        await using var events = await EventListener.StartAsync(topology);
        // A year of 1m candles of XRP/USDT: 526 pages, long enough to see the download move and cancel it.
        var to = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 60_000 * 60_000;
        var (created, body) = await topology.PostJsonAsync("/api/backtests",
            $$"""{"symbols": ["XRP/USDT"], "timeframe": "1m", "from": {{to - 525_600L * 60_000}}, "to": {{to}}} """);
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        var id = body.GetProperty("id").GetInt64();
        await events.WaitForAsync(e => e.GetProperty("type").GetString() == "job.progress" && e.GetProperty("data").GetProperty("job_id").GetInt64() == id
            && e.GetProperty("data").GetProperty("progress").GetInt32() is > 0 and < 50, seconds: 30);

        var (cancelled, job) = await topology.PostJsonAsync($"/api/jobs/{id}/cancel");
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal(("cancelled", "cancelled on request"), (job.GetProperty("status").GetString(), job.GetProperty("message").GetString()));
        var (again, _) = await topology.PostJsonAsync($"/api/jobs/{id}/cancel");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);

        var backtest = await topology.GetJsonAsync($"/api/backtests/{id}");
        Assert.Equal(JsonValueKind.Null, backtest.GetProperty("summary").ValueKind);
        Assert.Equal(0, backtest.GetProperty("artifacts").GetArrayLength());
        var (missing, _) = await topology.PostJsonAsync("/api/jobs/999999999/cancel");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    /// <summary>
    /// The Worker running a backtest is killed (SIGKILL) mid-download (ExchangeSim answers each page of klines a second
    /// late): its heartbeat stops, and once it is older than Backtests__StaleAfter (4 s in the tests) a Worker (here the
    /// one the AppHost starts again) takes the backtest over with a new, larger fencing token and completes it, its files
    /// all there and no half-written folder left.
    /// </summary>
    [Fact]
    public async Task A_backtest_whose_worker_dies_is_taken_over_with_a_new_token_and_completes_with_its_files()
    {
        await using var events = await EventListener.StartAsync(topology);
        // Three days of 1m candles ending ten days ago (no other test reads them): five pages of the download.
        var to = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 60_000 - 10 * 1440) * 60_000;
        await SetFaultAsync(new { mode = "latency", latency_ms = 1000, symbols = new[] { "SOLUSDT" } });
        long id;
        try
        {
            var (created, body) = await topology.PostJsonAsync("/api/backtests",
                $$"""{"symbols": ["SOL/USDT"], "timeframe": "1m", "from": {{to - 3 * 1440 * 60_000L}}, "to": {{to}}} """);
            Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
            id = body.GetProperty("id").GetInt64();
            await events.WaitForAsync(e => e.GetProperty("type").GetString() == "job.progress" && e.GetProperty("data").GetProperty("job_id").GetInt64() == id
                && e.GetProperty("data").GetProperty("progress").GetInt32() is > 0 and < 50, seconds: 30);
            var (owner, epoch) = await LeaseAsync(id);
            System.Diagnostics.Process.GetProcessById(int.Parse(owner[(owner.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture)).Kill();

            await events.WaitForAsync(e => e.GetProperty("type").GetString() == "job.progress" && e.GetProperty("data").GetProperty("job_id").GetInt64() == id
                && e.GetProperty("data").GetProperty("status").GetString() is "completed" or "failed", seconds: 60);
            var (newOwner, newEpoch) = await LeaseAsync(id);
            Assert.NotEqual(owner, newOwner);
            Assert.True(newEpoch > epoch, $"token {newEpoch} after {epoch}");
        }
        finally
        {
            await topology.ClearFaultsAsync();
        }

        var backtest = await topology.GetJsonAsync($"/api/backtests/{id}");
        Assert.Equal(("completed", 4320), (backtest.GetProperty("job").GetProperty("status").GetString(), backtest.GetProperty("summary").GetProperty("candles").GetInt32()));
        Assert.Equal(5, backtest.GetProperty("artifacts").GetArrayLength());
        var artifacts = topology.Artifacts;
        Assert.Equal(BacktestArtifactNames.Order(), Directory.GetFiles(Path.Combine(artifacts, $"{id}")).Select(Path.GetFileName).Order());
        Assert.Empty(Directory.GetDirectories(artifacts, $"{id}.writing-*"));
    }

    private static readonly string[] BacktestArtifactNames = ["trades.csv", "equity.csv", "summary.json", "equity.png", "drawdown.png"];

    private async Task<(string Owner, long Epoch)> LeaseAsync(long id)
    {
        await using var connection = await topology.OpenDatabaseAsync();
        await using var select = new Npgsql.NpgsqlCommand($"SELECT owner, epoch FROM backtests WHERE job_id = {id}", connection);
        await using var reader = await select.ExecuteReaderAsync(Cancel);
        Assert.True(await reader.ReadAsync(Cancel));
        return (reader.GetString(0), reader.GetInt64(1));
    }

    private async Task SetFaultAsync(object fault)
    {
        using var response = await System.Net.Http.Json.HttpClientJsonExtensions.PostAsJsonAsync(topology.Sim, "/sim/faults", fault, CancellationToken.None);
        response.EnsureSuccessStatusCode();
    }

    public static TheoryData<string, string, string> BadRequests()
    {
        var hour = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Hour * Hour;
        string Body(string fields) => $$"""{"symbols": ["BTC/USDT"], "timeframe": "1h", "from": {{hour - 24 * Hour}}, "to": {{hour}}, "knobs": {"order_quote": QUOTE}, {{fields}}}""";
        return new()
        {
            { Body("\"strategy\": \"nope\""), "strategy", "unknown strategy 'nope'" },
            { Body("\"strategy\": \"llm\""), "strategy", "asks a model on every candle" },
            { Body("\"version\": 9"), "strategy", "unknown strategy 'baseline@9'" },
            { Body("\"starting_cash\": 0"), "starting_cash", "above 0" },
            { Body("\"leverage\": 3"), "leverage", "unknown field" },
            { $$"""{"symbols": ["BTC/USDT"], "timeframe": "3d", "from": 0, "to": 259200000, "knobs": {"order_quote": QUOTE} }""", "timeframe", "not a backtest timeframe" },
            { $$"""{"symbols": ["BTC/USDT", "ETH/BTC"], "timeframe": "1h", "from": 0, "to": 3600000, "knobs": {"order_quote": QUOTE} }""", "symbols", "one quote currency" },
            { $$"""{"symbols": ["BTC/USDT"], "timeframe": "1h", "from": {{hour + 60_000}}, "to": {{hour + Hour}}, "knobs": {"order_quote": QUOTE} }""", "from", "not the open time of a 1h candle" },
            { $$"""{"symbols": ["BTC/USDT"], "timeframe": "1h", "from": {{hour}}, "to": {{hour + 2 * Hour}}, "knobs": {"order_quote": QUOTE} }""", "to", "is in the future" },
            { $$"""{"symbols": ["BTC/USDT"], "timeframe": "1m", "from": {{hour - 525_601L * 60_000}}, "to": {{hour}}, "knobs": {"order_quote": QUOTE} }""", "to", "525,601 candles of 1m; at most 525,600" },
            { $$"""{"symbols": ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT"], "timeframe": "1m", "from": {{hour - 525_600L * 60_000}}, "to": {{hour}}, "knobs": {"order_quote": QUOTE} }""",
                "symbols", "5 symbol(s) × 525,600 candles of 1m is 2,628,000 candles; at most 2,000,000 (Backtests__MaxCandles)" },
            { $$"""{"symbols": ["BTC/USDT"], "timeframe": "1h", "from": "yesterday", "to": {{hour}}, "knobs": {"order_quote": QUOTE} }""", "from", "ISO 8601" },
            { $$"""{"symbols": ["BTC/USDT"], "timeframe": "1h", "from": {{hour}}, "to": {{hour - Hour}}, "knobs": {"order_quote": QUOTE} }""", "to", "must be after from" },
            { $$"""{"symbols": ["BTC/USDT"], "timeframe": "1h", "from": 0, "to": 3600000, "knobs": {"order_quote": QUOTE, "fast": 30, "slow": 20} }""", "knobs.fast", "less than slow" },
        };
    }

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task A_bad_request_is_a_400_naming_the_field_and_nothing_is_written(string body, string field, string reason)
    {
        // This request's own mark: no backtest anywhere has its order_quote.
        var quote = $"{Random.Shared.Next(1, 1_000_000)}.{Random.Shared.Next(1, 1_000_000):D6}1";
        var (response, problem) = await topology.PostJsonAsync("/api/backtests", body.Replace("QUOTE", quote));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(reason, problem.GetProperty("errors").GetProperty(field)[0].GetString());
        Assert.Equal(0L, await topology.ScalarAsync($"SELECT count(*) FROM backtests WHERE knobs ->> 'order_quote' = '{quote}'"));
    }

    [Fact]
    public async Task An_unknown_backtest_or_artifact_is_a_404()
    {
        using var backtest = await topology.Gateway.GetAsync("/api/backtests/999999999", Cancel);
        using var artifact = await topology.Gateway.GetAsync("/api/backtests/1/artifacts/..%2F..%2Fappsettings.json", Cancel);
        using var notYet = await topology.Gateway.GetAsync("/api/backtests/999999999/artifacts/trades.csv", Cancel);
        Assert.Equal((HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound), (backtest.StatusCode, artifact.StatusCode, notYet.StatusCode));
    }

    /// <summary>Posts a backtest and waits for its job.progress completed; its id and GET /backtests/{id}'s summary.</summary>
    private async Task<(long Id, JsonElement Summary)> RunAsync(string request, EventListener events)
    {
        var (created, body) = await topology.PostJsonAsync("/api/backtests", request);
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        var id = body.GetProperty("id").GetInt64();
        Assert.Equal($"/backtests/{id}", created.Headers.Location?.OriginalString);
        Assert.Equal(("backtest", 10000m), (body.GetProperty("job").GetProperty("task").GetString(), body.GetProperty("starting_cash").GetDecimal()));
        await events.WaitForAsync(e => e.GetProperty("type").GetString() == "job.progress" && e.GetProperty("data").GetProperty("job_id").GetInt64() == id
            && e.GetProperty("data").GetProperty("status").GetString() is "completed" or "failed", seconds: 60);
        var backtest = await topology.GetJsonAsync($"/api/backtests/{id}");
        Assert.Equal("completed", backtest.GetProperty("job").GetProperty("status").GetString());
        Assert.Equal(["trades.csv", "equity.csv", "summary.json", "equity.png", "drawdown.png"],
            backtest.GetProperty("artifacts").EnumerateArray().Select(a => a.GetProperty("name").GetString()));
        return (id, backtest.GetProperty("summary"));
    }

    private async Task<string> ArtifactAsync(long id, string name, string type)
    {
        using var response = await topology.Gateway.GetAsync($"/api/backtests/{id}/artifacts/{name}", Cancel);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync(Cancel);
    }

    /// <summary>RFC 4180 rows (quoted fields with doubled quotes), the header first.</summary>
    private static List<string[]> Csv(string text)
    {
        var rows = new List<string[]>();
        var (row, field, quoted) = (new List<string>(), new System.Text.StringBuilder(), false);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { row.Add(field.ToString()); field.Clear(); }
            else if (c == '\r') { }
            else if (c == '\n') { row.Add(field.ToString()); field.Clear(); rows.Add([.. row]); row.Clear(); }
            else field.Append(c);
        }
        return rows;
    }

    private static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static long Ms(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    /// <summary>The backtests' default fee rate (the request names none).</summary>

    private static decimal Dec(string text) => decimal.Parse(text, CultureInfo.InvariantCulture);

    private static int BigEndian(byte[] bytes, int at) => bytes[at] << 24 | bytes[at + 1] << 16 | bytes[at + 2] << 8 | bytes[at + 3];
}
