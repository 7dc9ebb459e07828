using System.Runtime.CompilerServices;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using TradingBots.Backtests;
using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Messaging;
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
    IOptions<BacktestsOptions> options, BacktestInputs inputs, SearchChunks chunks, SearchTrials trials, IPublishEndpoint bus,
    IServiceScopeFactory scopes, TimeProvider time, ILogger<BacktestRunner> logger)
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
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var known = ex is PriceException or HttpRequestException or System.Text.Json.JsonException or StrategyFailedException;
            if (!known) logger.LogError(ex, "Backtest {Job} failed", jobId);
            await jobs.FailAsync(run, known ? ex.Message : $"{ex.GetType().Name}: {ex.Message}", cancellationToken);
        }
        finally
        {
            await held.CancelAsync();
            await heartbeat;
            // A run allocates in proportion to its candles (a year of 1m: about 150 MiB), and the GC keeps the heap it grew
            // to for allocations to come: a Worker idle after a few years backtested stayed at 500 MiB resident. One blocking
            // collection that returns the free memory to the system: 25 ms after a month of 1m candles, 50–90 ms after a year.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
    }

    /// <summary>The run's heartbeat until it ends; a heartbeat refused (cancelled, taken over) stops the run.</summary>
    private Task HeartbeatAsync(BacktestJobs.Run run, CancellationTokenSource held) =>
        Heartbeat.KeepAsync(scopes, options.Value.HeartbeatEvery, time, (services, token) => services.GetRequiredService<BacktestJobs>().HeartbeatAsync(run, token),
            held, missed => logger.LogWarning("Backtest {Job}: heartbeat not written: {Message}", run.JobId, missed));

    private async Task<(string Message, string Summary)> RunAsync(BacktestJobs.Run run, CancellationToken cancellationToken)
    {
        var backtest = run.Backtest;
        // Where a run's time goes, logged at its end: the setup (the exchange's rules), the candles (read, fetched), the rest,
        // each with the time this process was paused for garbage collections meanwhile (any run's, not only this one's).
        var (clock, paused) = (time.GetTimestamp(), GC.GetTotalPauseDuration());
        var phases = new List<string>();
        void Phase(string name)
        {
            phases.Add($"{name} {time.GetElapsedTime(clock).TotalMilliseconds:0} ms (GC {(GC.GetTotalPauseDuration() - paused).TotalMilliseconds:0})");
            (clock, paused) = (time.GetTimestamp(), GC.GetTotalPauseDuration());
        }
        var setup = await inputs.SetupAsync(backtest, plan: null, cancellationToken);
        Phase("setup");
        var step = Timeframes.Milliseconds(backtest.Timeframe)!.Value;
        var (warmFrom, to) = (BacktestInputs.WarmFrom(setup), setup.To);
        // And the candle after the range, once it has closed: the last candle's orders fill at its open.
        var until = to + step <= time.GetUtcNow().ToUnixTimeMilliseconds() ? to + step : to;

        // Stopped (cancelled) at the next progress: the download's pages and the simulation's ticks of the clock.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        async Task ReportAsync(int progress, string message)
        {
            if (!await jobs.ProgressAsync(run, progress, message, cancellationToken)) await stop.CancelAsync();
            stop.Token.ThrowIfCancellationRequested();
        }

        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open) await connection.OpenAsync(cancellationToken);
        // Read first: a range stored whole (the usual case after its first run) needs nothing else; else what is missing is
        // fetched and the range read again.
        var candles = await BacktestInputs.ReadCandlesAsync(connection, setup, until, stop.Token);
        Phase("read");
        var fetched = 0;
        if (candles.Values.Any(c => c.Length != (until - warmFrom + step - 1) / step))
        {
            fetched = await download.EnsureAsync(connection, backtest.Symbols, backtest.Timeframe, warmFrom, until,
                (done, missing) => ReportAsync(missing == 0 ? 50 : done * 50 / missing, $"downloading candles: {done:N0} of {missing:N0}"), stop.Token);
            candles = await BacktestInputs.ReadCandlesAsync(connection, setup, until, stop.Token);
            Phase($"fetch {fetched:N0} and read again");
        }
        await ReportAsync(50, fetched == 0 ? "simulating (every candle stored already)" : $"simulating ({fetched:N0} candles fetched)");

        if (backtest.Search is { } search)
            return await SearchAsync(run, SearchSpec.FromJson(search), setup, new SearchPlan(until, setup.Rules), candles, fetched, ReportAsync, stop.Token);
        var result = await SimulateAsync((report, token) => Backtester.Run(setup, candles, report, token),
            percent => ReportAsync(50 + percent * 49 / 100, $"simulating: {percent}%"), stop.Token);
        Phase("simulate");
        var summary = BacktestSummary.From(setup, result, fetched);
        await BacktestArtifacts.WriteAsync(artifacts.Value.JobPath(backtest.JobId), summary, result, stop.Token);
        Phase("artifacts");
        logger.LogInformation("Backtest {Job}: {Phases}", backtest.JobId, string.Join(", ", phases));
        return ($"completed: {result.Candles:N0} candles, {result.Trades.Count} trades, total return {WireJson.Format(summary.TotalReturn)}",
            summary.ToJson());
    }

    /// <summary>
    /// A parameter search over the candles read once: its trials cut into chunks (<see cref="SearchChunks"/>) that this Worker
    /// runs on every core and any other Worker may share (<see cref="SearchTrials"/>), progress 50–99 by the trials done; once
    /// all are in, ranked (<see cref="Optimizer.Rank"/>) with its artifacts (trials.csv, summary.json, heatmap.png for two knobs)
    /// and summary as a backtest's.
    /// </summary>
    private async Task<(string Message, string Summary)> SearchAsync(BacktestJobs.Run run, SearchSpec spec, BacktestSetup setup, SearchPlan plan,
        Dictionary<string, Candle[]> candles, int fetched, Func<int, string, Task> report, CancellationToken cancellationToken)
    {
        var backtest = run.Backtest;
        var search = spec.Setup(setup, backtest.Knobs);
        var candidates = Optimizer.Candidates(search.Ranges, search.Random, search.Trials, search.Seed);
        if (!await chunks.PlanAsync(run, plan, Optimizer.Chunks(candidates.Count), cancellationToken))
            throw new OperationCanceledException($"search {run.JobId}: taken over before its trials were planned");
        await WakeOthersAsync(run.JobId, cancellationToken);
        var running = trials.RunAsync(run, new SearchTrials.Inputs(search, candidates, candles), cancellationToken);
        for (var reported = 0; !running.IsCompleted;)
        {
            await Task.WhenAny(running, Task.Delay(ProgressEvery, time, cancellationToken));
            if (running.IsCompleted || (await chunks.DoneAsync(run, cancellationToken)).Trials is var done && done == reported) continue;
            reported = done;
            await report(50 + done * 49 / candidates.Count, $"searching: {done} of {candidates.Count} trials");
        }
        await running;
        var result = Optimizer.Rank(search, await chunks.ResultsAsync(run, cancellationToken));
        var candlesJudged = candles.Values.Sum(c => c.Count(x => x.OpenTime >= setup.From && x.OpenTime < setup.To));
        var summary = OptimizationSummary.From(spec, result, candlesJudged, fetched);
        await OptimizationArtifacts.WriteAsync(artifacts.Value.JobPath(backtest.JobId), search, summary, result, cancellationToken);
        var best = result.Trials[0];
        return ($"completed: {candidates.Count} trials, best {string.Join(", ", best.Knobs.Select(k => $"{k.Key} {WireJson.Format(k.Value)}"))}"
            + (best.Score is { } score ? $" ({spec.Metric} {WireJson.Format(score)})" : ""), summary.ToJson());
    }

    /// <summary>Tells every Worker the search's chunks are there (after they committed); a broker away only delays them to their next look.</summary>
    private async Task WakeOthersAsync(long jobId, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await bus.Publish(new TrialsQueued(jobId), timeout.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Search {Job}: the other Workers were not told of its trials ({Message}); they look every few seconds", jobId, ex.Message);
        }
    }

    /// <summary>The simulation off the caller's thread; its percent is recorded every <see cref="ProgressEvery"/> while it runs.</summary>
    private async Task<T> SimulateAsync<T>(Func<Action<int>, CancellationToken, T> simulate, Func<int, Task> report, CancellationToken cancellationToken)
    {
        var percent = new StrongBox<int>(0);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // On a thread of its own, not one of the pool's (two on two cores), whose continuations (this loop's reports among them) it would hold back.
        var run = Task.Factory.StartNew(() => simulate(p => Volatile.Write(ref percent.Value, p), stop.Token), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
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
