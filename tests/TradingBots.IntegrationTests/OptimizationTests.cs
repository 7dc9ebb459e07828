using System.Globalization;
using System.Net;
using System.Text.Json;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>POST /optimizations through the gateway: a search run as a job by the Worker, its ranking, folds and artifacts.</summary>
public sealed class OptimizationTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;
    private const long Hour = 3_600_000;

    /// <summary>The last week of closed hourly candles of SOL/USDT, and a body for it with the given search fields.</summary>
    /// <summary>
    /// The week ending an hour before the current hour: the candle after it has closed already, so each run of it fills the
    /// last candle's orders at that candle's open whenever it starts (a week ending at the current hour changed that at the
    /// hour's turn, between two runs of one test).
    /// </summary>
    private static (long From, long To) Week()
    {
        var to = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / Hour * Hour - Hour;
        return (to - 168 * Hour, to);
    }

    private static string Body(long from, long to, string search, string knobs = """{"order_quote": 1000}""") => $$"""
        {"strategy": "baseline", "symbols": ["SOL/USDT"], "timeframe": "1h", "from": {{from}}, "to": {{to}}, "knobs": {{knobs}}, {{search}}}
        """;

    private async Task<JsonElement> RunAsync(string body, string path)
    {
        var (created, view) = await topology.PostJsonAsync($"/api/{path}", body);
        Assert.True(created.StatusCode == HttpStatusCode.Accepted, $"{created.StatusCode}: {view}");
        var id = view.GetProperty("id").GetInt64();
        Assert.Equal($"/{path}/{id}", created.Headers.Location?.OriginalString);
        var done = await FinishedAsync(path, id);
        Assert.True(done.GetProperty("job").GetProperty("status").GetString() == "completed", done.GetProperty("job").GetRawText());
        return done;
    }

    [Fact]
    public async Task A_grid_search_ranks_its_trials_as_their_own_backtests_score_them_and_writes_its_artifacts()
    {
        var (from, to) = Week();

        var search = await RunAsync(Body(from, to, """
            "ranges": [{"knob": "fast", "from": 2, "to": 4, "step": 1}, {"knob": "slow", "from": 8, "to": 9, "step": 1}], "metric": "total_return"
            """), "optimizations");

        Assert.Equal("optimization", search.GetProperty("job").GetProperty("task").GetString());
        var summary = search.GetProperty("summary");
        Assert.Equal((6, 0, "total_return", "grid"), (summary.GetProperty("trials").GetInt32(), summary.GetProperty("skipped").GetInt32(),
            summary.GetProperty("metric").GetString(), summary.GetProperty("search").GetString()));
        var best = summary.GetProperty("best").EnumerateArray().ToList();
        Assert.Equal(6, best.Count);
        var scores = best.Select(t => t.GetProperty("score").GetDecimal()).ToList();
        Assert.Equal(scores.OrderDescending(), scores);
        Assert.Equal(["trials.csv", "summary.json", "heatmap.png"], search.GetProperty("artifacts").EnumerateArray().Select(a => a.GetProperty("name").GetString()));

        // The best trial's score is what a backtest of its knobs over the same candles returns.
        var top = best[0].GetProperty("knobs");
        var backtest = await RunAsync(Body(from, to, "\"starting_cash\": 10000",
            $$"""{"order_quote": 1000, "fast": {{top.GetProperty("fast").GetInt32()}}, "slow": {{top.GetProperty("slow").GetInt32()}}}"""), "backtests");
        Assert.Equal(scores[0], backtest.GetProperty("summary").GetProperty("total_return").GetDecimal());
        Assert.Equal(best[0].GetProperty("trade_count").GetInt32(), backtest.GetProperty("summary").GetProperty("trade_count").GetInt32());

        var id = search.GetProperty("id").GetInt64();
        var csv = (await topology.Gateway.GetStringAsync($"/api/optimizations/{id}/artifacts/trials.csv", Cancel)).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("rank,trial,fast,slow,score,in_sample,out_of_sample,total_return,max_drawdown,trade_count,skipped", csv[0]);
        Assert.Equal(7, csv.Length);
        Assert.Equal(scores[0], decimal.Parse(csv[1].Split(',')[4], CultureInfo.InvariantCulture));
        var png = await topology.Gateway.GetByteArrayAsync($"/api/optimizations/{id}/artifacts/heatmap.png", Cancel);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        // A search is not a backtest: GET /backtests/{id} does not show it.
        using var asBacktest = await topology.Gateway.GetAsync($"/api/backtests/{id}", Cancel);
        Assert.Equal(HttpStatusCode.NotFound, asBacktest.StatusCode);
    }

    [Fact]
    public async Task A_walk_forward_tunes_on_each_window_and_reports_the_next_ones_score()
    {
        var (from, to) = Week();

        var search = await RunAsync(Body(from, to, """
            "ranges": [{"knob": "fast", "from": 2, "to": 3, "step": 1}], "search": "random", "trials": 2, "seed": 5, "folds": 2, "metric": "total_return"
            """), "optimizations");

        var summary = search.GetProperty("summary");
        var folds = summary.GetProperty("folds").EnumerateArray().ToList();
        Assert.Equal(2, folds.Count);
        // 168 candles in 3 windows of 56: fold 1 tunes on the first and is scored on the second, fold 2 on the second and third.
        Assert.Equal([(from, from + 56 * Hour, from + 112 * Hour), (from + 56 * Hour, from + 112 * Hour, to)],
            folds.Select(f => (f.GetProperty("in_sample_from").GetInt64(), f.GetProperty("out_of_sample_from").GetInt64(), f.GetProperty("out_of_sample_to").GetInt64())));
        Assert.All(summary.GetProperty("best").EnumerateArray(), t => Assert.Equal(JsonValueKind.Number, t.GetProperty("out_of_sample").ValueKind));
        Assert.Equal(["trials.csv", "summary.json"], search.GetProperty("artifacts").EnumerateArray().Select(a => a.GetProperty("name").GetString()));
    }

    /// <summary>
    /// Momentum, slowly: buys when a close is above the close `lookback` candles before, closes when below; each judgment
    /// spends 8 ms first, so a trial over a week of hourly candles lasts about 1.4 s and a search's chunks outlive a Worker's start.
    /// </summary>
    private const string SlowMomentum = """
        public sealed class SlowMomentum : IStrategyLogic
        {
            public string Description => "momentum, slowly";
            public IReadOnlyList<KnobSpec> Knobs { get; } =
                [new("lookback", KnobType.Integer, 2, 1, 50, "candles back"), StrategyParts.OrderQuoteKnob, StrategyParts.MaxOpenTradesKnob];
            public int CandlesNeeded(KnobValues knobs) => knobs.Integer("lookback") + 1;
            public IReadOnlyList<StrategyOrder> Decide(StrategyInput input)
            {
                var until = DateTime.UtcNow.AddMilliseconds(8);
                while (DateTime.UtcNow < until) { }
                var candles = input.ClosedCandles;
                var back = input.Knobs.Integer("lookback");
                if (candles.Count <= back) return [];
                var open = StrategyParts.OpenOfSymbol(input);
                if (open.Count > 0 && candles[^1].Close < candles[^(1 + back)].Close) return StrategyParts.CloseAll(open, "falling");
                return candles[^1].Close > candles[^(1 + back)].Close ? StrategyParts.BuyIfRoom(input, open.Count, "rising") : [];
            }
        }
        """;

    /// <summary>
    /// A search's trials are shared: a second Worker started while the first runs a search's chunks takes chunks too, and
    /// is killed (SIGKILL) holding one; that chunk is run again by the Worker left once its heartbeat is stale (4 s in the
    /// tests), what the killed one finished counts, and the search ranks exactly as the same search run by one Worker.
    /// </summary>
    [Fact]
    public async Task A_searchs_chunks_are_shared_by_workers_and_a_killed_workers_chunk_is_run_again_ranking_as_one_worker()
    {
        var folder = Path.Combine(topology.Data, "strategies");
        Directory.CreateDirectory(folder);
        var strategy = $"slow_{Guid.NewGuid():N}"[..17];
        await File.WriteAllTextAsync(Path.Combine(folder, $"{strategy}.cs"), SlowMomentum, Cancel);
        var (from, to) = Week();
        var body = $$"""
            {"strategy": "{{strategy}}", "symbols": ["SOL/USDT"], "timeframe": "1h", "from": {{from}}, "to": {{to}}, "knobs": {"order_quote": 1000},
             "ranges": [{"knob": "lookback", "from": 1, "to": 16, "step": 1}], "metric": "total_return"}
            """;
        try
        {
            var (created, view) = await topology.PostJsonAsync("/api/optimizations", body);
            Assert.True(created.StatusCode == HttpStatusCode.Accepted, $"{created.StatusCode}: {view}");
            var id = view.GetProperty("id").GetInt64();
            // The topology's Worker holds the search and has planned its 16 chunks (one trial each); then a second Worker starts.
            await Eventually.UntilAsync(async () => (long)(await topology.ScalarAsync($"SELECT count(*) FROM search_chunks WHERE job_id = {id}"))! == 16,
                "the search's chunks planned", TimeSpan.FromSeconds(60), cancellationToken: Cancel);
            var holder = (string)(await topology.ScalarAsync($"SELECT owner FROM backtests WHERE job_id = {id}"))!;
            var replica = await topology.StartReplicaAsync(ResourceNames.Worker, Cancel);
            var helper = $"%:{replica.ProcessId}";
            int[] held = [];
            try
            {
                // It has finished a chunk and has just taken another (within 100 ms: its trial lasts about 1.4 s, so nothing of it
                // can be on its way to the database): killed then.
                await Eventually.UntilAsync(async () => (long)(await topology.ScalarAsync(
                        $"SELECT count(*) FROM search_chunks WHERE job_id = {id} AND owner LIKE '{helper}' AND results IS NOT NULL"))! >= 1
                    && (held = await ChunksAsync(id, $"owner LIKE '{helper}' AND results IS NULL AND now() - heartbeat_at < interval '100 milliseconds'")).Length >= 1,
                    "the second Worker finished a chunk and has just taken another", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(20), Cancel);
            }
            finally
            {
                using var killed = System.Diagnostics.Process.GetProcessById(replica.ProcessId);
                killed.Kill();
                await killed.WaitForExitAsync(Cancel);
            }

            var shared = await FinishedAsync("optimizations", id);
            Assert.True(shared.GetProperty("job").GetProperty("status").GetString() == "completed", shared.GetProperty("job").GetRawText());
            Assert.Equal(holder, (string)(await topology.ScalarAsync($"SELECT owner FROM backtests WHERE job_id = {id}"))!);
            // Every chunk done; what the killed Worker finished kept, the chunk it had just taken run again by the Worker left.
            Assert.Equal(16L, await topology.ScalarAsync($"SELECT count(*) FROM search_chunks WHERE job_id = {id} AND results IS NOT NULL"));
            var finished = await ChunksAsync(id, $"owner LIKE '{helper}'");
            Assert.NotEmpty(finished);
            Assert.NotEmpty(held);
            Assert.All(held, chunk => Assert.DoesNotContain(chunk, finished));

            // The same search on one Worker ranks the same trials with the same figures.
            var alone = await RunAsync(body, "optimizations");
            var aloneId = alone.GetProperty("id").GetInt64();
            Assert.Equal(0L, await topology.ScalarAsync($"SELECT count(*) FROM search_chunks WHERE job_id = {aloneId} AND owner <> '{holder}'"));
            Assert.Equal(await topology.Gateway.GetStringAsync($"/api/optimizations/{aloneId}/artifacts/trials.csv", Cancel),
                await topology.Gateway.GetStringAsync($"/api/optimizations/{id}/artifacts/trials.csv", Cancel));
            // (The second found the week's candles stored.)
            Assert.Equal(alone.GetProperty("summary").GetProperty("best").GetRawText(), shared.GetProperty("summary").GetProperty("best").GetRawText());
            Assert.Equal(0, alone.GetProperty("summary").GetProperty("candles_fetched").GetInt32());
        }
        finally
        {
            File.Delete(Path.Combine(folder, $"{strategy}.cs"));
        }
    }

    /// <summary>
    /// A search whose strategy throws on some trials fails at once with the strategy's own message, whichever Worker's
    /// chunk met it, and nothing more of it runs: no artifacts, no summary, the other chunks left undone.
    /// </summary>
    [Fact]
    public async Task A_search_whose_strategy_throws_fails_with_the_strategys_message_and_stops()
    {
        var folder = Path.Combine(topology.Data, "strategies");
        Directory.CreateDirectory(folder);
        var strategy = $"odd_{Guid.NewGuid():N}"[..16];
        await File.WriteAllTextAsync(Path.Combine(folder, $"{strategy}.cs"), """
            public sealed class Odd : IStrategyLogic
            {
                public string Description => "throws for lookback 40";
                public IReadOnlyList<KnobSpec> Knobs { get; } = [new("lookback", KnobType.Integer, 2, 1, 50, "candles back"), StrategyParts.OrderQuoteKnob];
                public int CandlesNeeded(KnobValues knobs) => 1;
                public IReadOnlyList<StrategyOrder> Decide(StrategyInput input) =>
                    input.Knobs.Integer("lookback") == 40 ? throw new InvalidOperationException("forty is not allowed") : [];
            }
            """, Cancel);
        try
        {
            var (from, to) = Week();
            var (created, view) = await topology.PostJsonAsync("/api/optimizations", $$"""
                {"strategy": "{{strategy}}", "symbols": ["SOL/USDT"], "timeframe": "1h", "from": {{from}}, "to": {{to}}, "knobs": {"order_quote": 1000},
                 "ranges": [{"knob": "lookback", "from": 1, "to": 50, "step": 1}], "metric": "total_return"}
                """);
            Assert.True(created.StatusCode == HttpStatusCode.Accepted, $"{created.StatusCode}: {view}");
            var id = view.GetProperty("id").GetInt64();

            var failed = await FinishedAsync("optimizations", id);

            var job = failed.GetProperty("job");
            Assert.Equal(("failed", $"{strategy}@1: Decide threw InvalidOperationException: forty is not allowed"),
                (job.GetProperty("status").GetString(), job.GetProperty("message").GetString()));
            Assert.Equal(JsonValueKind.Null, failed.GetProperty("summary").ValueKind);
            Assert.Equal(0, failed.GetProperty("artifacts").GetArrayLength());
            // 50 trials, one chunk each: the search stopped with chunks undone, and the one that threw wrote nothing.
            Assert.Equal(0L, await topology.ScalarAsync($"SELECT count(*) FROM search_chunks WHERE job_id = {id} AND first_trial = 39 AND results IS NOT NULL"));
        }
        finally
        {
            File.Delete(Path.Combine(folder, $"{strategy}.cs"));
        }
    }

    /// <summary>
    /// A search cancelled while its chunks run (POST /jobs/{id}/cancel) stays cancelled: its chunks' heartbeats are refused
    /// from then on, so each stops where it is and none writes its results after the cancel; no summary, no artifacts.
    /// </summary>
    [Fact]
    public async Task A_cancelled_search_stops_its_chunks_and_writes_nothing_more()
    {
        var folder = Path.Combine(topology.Data, "strategies");
        Directory.CreateDirectory(folder);
        var strategy = $"slow_{Guid.NewGuid():N}"[..17];
        await File.WriteAllTextAsync(Path.Combine(folder, $"{strategy}.cs"), SlowMomentum, Cancel);
        try
        {
            var (from, to) = Week();
            var (created, view) = await topology.PostJsonAsync("/api/optimizations", $$"""
                {"strategy": "{{strategy}}", "symbols": ["SOL/USDT"], "timeframe": "1h", "from": {{from}}, "to": {{to}}, "knobs": {"order_quote": 1000},
                 "ranges": [{"knob": "lookback", "from": 1, "to": 16, "step": 1}], "metric": "total_return"}
                """);
            Assert.True(created.StatusCode == HttpStatusCode.Accepted, $"{created.StatusCode}: {view}");
            var id = view.GetProperty("id").GetInt64();
            const string done = "results IS NOT NULL";
            await Eventually.UntilAsync(async () => (await ChunksAsync(id, done)).Length >= 1, "a chunk done", TimeSpan.FromSeconds(60),
                TimeSpan.FromMilliseconds(20), Cancel);

            var (cancelled, job) = await topology.PostJsonAsync($"/api/jobs/{id}/cancel");
            Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
            Assert.Equal("cancelled", job.GetProperty("status").GetString());
            var doneAtCancel = await ChunksAsync(id, done);
            Assert.InRange(doneAtCancel.Length, 1, 15);

            // The chunks running then stop at their next heartbeat (every second in the tests): none beats for two.
            await Eventually.UntilAsync(async () => (bool)(await topology.ScalarAsync(
                    $"SELECT coalesce(now() - max(heartbeat_at) > interval '2 seconds', true) FROM search_chunks WHERE job_id = {id} AND results IS NULL"))!,
                "no chunk of the cancelled search beating", TimeSpan.FromSeconds(30), cancellationToken: Cancel);
            Assert.Equal(doneAtCancel, await ChunksAsync(id, done));
            var search = await topology.GetJsonAsync($"/api/optimizations/{id}");
            Assert.Equal(("cancelled", JsonValueKind.Null, 0), (search.GetProperty("job").GetProperty("status").GetString(),
                search.GetProperty("summary").ValueKind, search.GetProperty("artifacts").GetArrayLength()));
        }
        finally
        {
            File.Delete(Path.Combine(folder, $"{strategy}.cs"));
        }
    }

    private async Task<int[]> ChunksAsync(long id, string where)
    {
        await using var connection = await topology.OpenDatabaseAsync();
        await using var select = new Npgsql.NpgsqlCommand($"SELECT chunk FROM search_chunks WHERE job_id = {id} AND {where} ORDER BY chunk", connection);
        await using var reader = await select.ExecuteReaderAsync(Cancel);
        var chunks = new List<int>();
        while (await reader.ReadAsync(Cancel)) chunks.Add(reader.GetInt32(0));
        return [.. chunks];
    }

    private async Task<JsonElement> FinishedAsync(string path, long id)
    {
        await Eventually.UntilAsync(async () => (await topology.GetJsonAsync($"/api/{path}/{id}")).GetProperty("job").GetProperty("status").GetString() is "completed" or "failed",
            $"{path} {id} finished", TimeSpan.FromSeconds(90), cancellationToken: Cancel);
        return await topology.GetJsonAsync($"/api/{path}/{id}");
    }

    public static TheoryData<string, string, string> Invalid => new()
    {
        { """ "ranges": [{"knob": "leverage", "from": 1, "to": 2, "step": 1}] """, "ranges[0]", "knob must name a numeric knob of baseline@1" },
        { """ "ranges": [{"knob": "fast", "from": 0, "to": 2, "step": 1}] """, "ranges[0]", "fast is from 1 to 500" },
        { """ "ranges": [{"knob": "fast", "from": 1.5, "to": 2, "step": 1}] """, "ranges[0]", "fast is an integer" },
        { """ "ranges": [] """, "ranges", "is required" },
        { """ "ranges": [{"knob": "fast", "from": 1, "to": 200, "step": 1}, {"knob": "slow", "from": 2, "to": 1000, "step": 1}] """, "ranges", "the grid has 199,800 combinations" },
        { """ "ranges": [{"knob": "fast", "from": 1, "to": 2, "step": 1}], "trials": 5 """, "trials", "a grid tries every combination" },
        { """ "ranges": [{"knob": "fast", "from": 1, "to": 2, "step": 1}], "metric": "calmar" """, "metric", "must be one of sharpe, sortino" },
        { """ "ranges": [{"knob": "fast", "from": 1, "to": 2, "step": 1}], "folds": 11 """, "folds", "must be a whole number from 0 to 10" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task A_bad_search_is_a_400_naming_the_field_and_writes_nothing(string search, string field, string reason)
    {
        var (from, to) = Week();
        var quote = 1000 + Random.Shared.Next(1, 1_000_000) / 1000m; // this request's own mark

        var (response, problem) = await topology.PostJsonAsync("/api/optimizations",
            Body(from, to, search, $$"""{"order_quote": {{quote.ToString(CultureInfo.InvariantCulture)}}}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.StartsWith(reason, problem.GetProperty("errors").GetProperty(field)[0].GetString());
        Assert.Equal(0L, await topology.ScalarAsync($"SELECT count(*) FROM backtests WHERE knobs ->> 'order_quote' = '{quote.ToString(CultureInfo.InvariantCulture)}'"));
    }
}
