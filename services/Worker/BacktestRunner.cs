using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using TradingBots.Backtests;
using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Paper;
using TradingBots.Strategies;
using TradingBots.Strategies.Users;

namespace TradingBots.Worker;

/// <summary>
/// Runs a backtest's job: takes it (<see cref="BacktestJobs.ClaimAsync"/>: an owner and a fencing token), writes its
/// heartbeat every <see cref="BacktestsOptions.HeartbeatEvery"/> on a connection of its own whatever the run is doing,
/// fetches the candles not stored yet (progress 0–50), judges the range with the live bots' strategy classes and paper
/// rules (<see cref="Backtester"/>, progress 50–99), writes its artifacts (all at once: <see cref="BacktestArtifacts"/>)
/// and completes the job with its summary. A cancelled job, or a run whose backtest another Worker took over, stops at
/// its next progress or heartbeat and writes nothing more; a failure fails the job with the reason; a Worker that dies
/// mid-run leaves the job running, and once its heartbeat is <see cref="BacktestsOptions.StaleAfter"/> old another Worker
/// runs it again from the start.
/// </summary>
public sealed class BacktestRunner(BacktestJobs jobs, CandleDownload download, TradingDbContext db, IOptions<ArtifactsOptions> artifacts,
    IOptions<BacktestsOptions> options, PriceSource prices, StrategyCatalog catalog, IServiceScopeFactory scopes, TimeProvider time, ILogger<BacktestRunner> logger)
{
    /// <summary>How often a simulation's progress is recorded (and the job checked for a cancel).</summary>
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromMilliseconds(250);

    public async Task RunAsync(long jobId, CancellationToken cancellationToken)
    {
        if (await jobs.ClaimAsync(jobId, cancellationToken) is not { } run) return;
        var backtest = run.Backtest;
        logger.LogInformation("Backtest {Job}: {Strategy}@{Version} on {Symbols} {Timeframe} from {From:u} to {To:u}", jobId, backtest.Strategy,
            backtest.Version, string.Join(",", backtest.Symbols), backtest.Timeframe, backtest.From, backtest.To);
        using var held = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeat = HeartbeatAsync(run, held);
        try
        {
            var (message, summary) = await RunAsync(run, held.Token);
            if (await jobs.CompleteAsync(run, summary, message, cancellationToken)) logger.LogInformation("Backtest {Job}: {Message}", jobId, message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogInformation("Backtest {Job}: cancelled, or taken over by another Worker", jobId);
        }
        catch (Exception caught) when (!cancellationToken.IsCancellationRequested)
        {
            // A search's trials run in parallel: a strategy's own failure comes wrapped, and is said as itself.
            var ex = caught is AggregateException { InnerException: StrategyFailedException failed } ? failed : caught;
            var known = ex is PriceException or HttpRequestException or System.Text.Json.JsonException or StrategyFailedException;
            if (!known) logger.LogError(ex, "Backtest {Job} failed", jobId);
            await jobs.FailAsync(run, known ? ex.Message : $"{ex.GetType().Name}: {ex.Message}", cancellationToken);
        }
        finally
        {
            await held.CancelAsync();
            await heartbeat;
        }
    }

    /// <summary>The run's heartbeat until it ends; a heartbeat refused (cancelled, taken over) stops the run.</summary>
    private async Task HeartbeatAsync(BacktestJobs.Run run, CancellationTokenSource held)
    {
        using var timer = new PeriodicTimer(options.Value.HeartbeatEvery, time);
        try
        {
            while (await timer.WaitForNextTickAsync(held.Token))
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    if (await scope.ServiceProvider.GetRequiredService<BacktestJobs>().HeartbeatAsync(run, held.Token)) continue;
                    await held.CancelAsync();
                    return;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning("Backtest {Job}: heartbeat not written: {Message}", run.JobId, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (held.IsCancellationRequested)
        {
        }
    }

    private async Task<(string Message, string Summary)> RunAsync(BacktestJobs.Run run, CancellationToken cancellationToken)
    {
        var backtest = run.Backtest;
        var strategy = await catalog.FindAsync($"{backtest.Strategy}@{backtest.Version}", cancellationToken)
            ?? throw new InvalidOperationException($"strategy {backtest.Strategy}@{backtest.Version} is not known to this Worker");
        var knobs = KnobValues.Parse(backtest.Knobs, StrategyRegistry.KnobsOf(strategy));
        var step = Timeframes.Milliseconds(backtest.Timeframe)!.Value;
        var (from, to) = (backtest.From.ToUnixTimeMilliseconds(), backtest.To.ToUnixTimeMilliseconds());
        // The warm-up: the closed candles before the range the strategy's first judgment needs, as a live bot has them.
        var warmFrom = from - (Math.Max(1, strategy.CandlesNeeded(knobs)) - 1) * step;
        // And the candle after the range, once it has closed: the last candle's orders fill at its open.
        var until = to + step <= time.GetUtcNow().ToUnixTimeMilliseconds() ? to + step : to;
        // Filled by the knobs' terms, under the exchange's rules of today when they apply (Binance keeps no history of them).
        var terms = PaperRules.Terms(backtest.Knobs, FillTerms.Bot);
        var rules = new Dictionary<string, ExchangeRules>(StringComparer.Ordinal);
        if (terms.ExchangeRules)
            foreach (var symbol in backtest.Symbols) rules[symbol] = await prices.GetRulesAsync(symbol, cancellationToken);
        var setup = new BacktestSetup(strategy, knobs, backtest.Symbols, backtest.Timeframe, from, to, backtest.StartingCash, backtest.FeeRate, terms,
            terms.ExchangeRules ? rules : null);

        // Stopped (cancelled) at the next progress: the download's pages and the simulation's ticks of the clock.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        async Task ReportAsync(int progress, string message)
        {
            if (!await jobs.ProgressAsync(run, progress, message, cancellationToken)) await stop.CancelAsync();
            stop.Token.ThrowIfCancellationRequested();
        }

        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open) await connection.OpenAsync(cancellationToken);
        var fetched = await download.EnsureAsync(connection, backtest.Symbols, backtest.Timeframe, warmFrom, until,
            (done, missing) => ReportAsync(missing == 0 ? 50 : done * 50 / missing, $"downloading candles: {done:N0} of {missing:N0}"), stop.Token);
        var candles = new Dictionary<string, Candle[]>(StringComparer.Ordinal);
        foreach (var symbol in backtest.Symbols)
            candles[symbol] = await CandleStore.ReadAsync(connection, symbol, backtest.Timeframe, warmFrom, until, stop.Token);
        await ReportAsync(50, fetched == 0 ? "simulating (every candle stored already)" : $"simulating ({fetched:N0} candles fetched)");

        if (backtest.Search is { } search) return await SearchAsync(SearchSpec.FromJson(search), setup, backtest, candles, fetched, ReportAsync, stop.Token);
        var result = await SimulateAsync((report, token) => Backtester.Run(setup, candles, report, token),
            percent => ReportAsync(50 + percent * 49 / 100, $"simulating: {percent}%"), stop.Token);
        var summary = BacktestSummary.From(setup, result, fetched);
        await BacktestArtifacts.WriteAsync(artifacts.Value.JobPath(backtest.JobId), summary, result, stop.Token);
        return ($"completed: {result.Candles:N0} candles, {result.Trades.Count} trades, total return {WireJson.Format(summary.TotalReturn)}",
            summary.ToJson());
    }

    /// <summary>
    /// A parameter search over the candles read once (<see cref="Optimizer"/>, its trials on every core): progress 50–99 by the
    /// trials done; its artifacts (trials.csv, summary.json, heatmap.png for two knobs) and summary as a backtest's.
    /// </summary>
    private async Task<(string Message, string Summary)> SearchAsync(SearchSpec spec, BacktestSetup setup, Backtest backtest,
        Dictionary<string, Candle[]> candles, int fetched, Func<int, string, Task> report, CancellationToken cancellationToken)
    {
        var search = spec.Setup(setup, backtest.Knobs);
        var trials = Optimizer.Candidates(search.Ranges, search.Random, search.Trials, search.Seed).Count;
        var result = await SimulateAsync((done, token) => Optimizer.Run(search, candles, count => done(count * 100 / trials), token),
            percent => report(50 + percent * 49 / 100, $"searching: {percent}% of {trials} trials"), cancellationToken);
        var candlesJudged = candles.Values.Sum(c => c.Count(x => x.OpenTime >= setup.From && x.OpenTime < setup.To));
        var summary = OptimizationSummary.From(spec, result, candlesJudged, fetched);
        await OptimizationArtifacts.WriteAsync(artifacts.Value.JobPath(backtest.JobId), search, summary, result, cancellationToken);
        var best = result.Trials[0];
        return ($"completed: {trials} trials, best {string.Join(", ", best.Knobs.Select(k => $"{k.Key} {WireJson.Format(k.Value)}"))}"
            + (best.Score is { } score ? $" ({spec.Metric} {WireJson.Format(score)})" : ""), summary.ToJson());
    }

    /// <summary>The simulation off the request's thread; its percent is recorded every <see cref="ProgressEvery"/> while it runs.</summary>
    private async Task<T> SimulateAsync<T>(Func<Action<int>, CancellationToken, T> simulate, Func<int, Task> report, CancellationToken cancellationToken)
    {
        var percent = new StrongBox<int>(0);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = Task.Run(() => simulate(p => Volatile.Write(ref percent.Value, p), stop.Token), CancellationToken.None);
        var reported = 0;
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(ProgressEvery, time, cancellationToken));
            var now = Volatile.Read(ref percent.Value);
            if (run.IsCompleted || now == reported) continue;
            reported = now;
            try { await report(now); }
            catch (OperationCanceledException) { await stop.CancelAsync(); }
        }
        return await run;
    }
}
