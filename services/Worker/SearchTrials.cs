using Microsoft.Extensions.Options;
using TradingBots.Backtests;
using TradingBots.Strategies;

namespace TradingBots.Worker;

/// <summary>
/// Runs a search's trials chunk by chunk (<see cref="SearchChunks"/>), one chunk per core of this Worker at a time, in the
/// Worker that holds the search (<see cref="RunAsync"/>, until every chunk is done) and in any other Worker with a free
/// backtest slot (<see cref="HelpAsync"/>, while chunks are left to take). Each chunk runs under its own heartbeat; a chunk
/// whose Worker died is taken again once its heartbeat is <see cref="BacktestsOptions.StaleAfter"/> old, and a chunk that
/// was taken over, or whose search was cancelled or taken over, stops and writes nothing. A strategy that fails in any
/// Worker fails the search at once (fenced by the search's token), and every Worker's chunks of it stop.
/// </summary>
public sealed class SearchTrials(IServiceScopeFactory scopes, IOptions<BacktestsOptions> options, TimeProvider time, ILogger<SearchTrials> logger)
{
    /// <summary>How often a Worker with nothing left to take looks whether every chunk is done, or one was left by a dead Worker.</summary>
    private static readonly TimeSpan LookEvery = TimeSpan.FromMilliseconds(250);

    /// <summary>What every trial of a search runs on: the search, its knob combinations in trial order, and the candles read once.</summary>
    public sealed record Inputs(OptimizationSetup Search, IReadOnlyList<IReadOnlyDictionary<string, decimal>> Candidates, IReadOnlyDictionary<string, Candle[]> Candles);

    /// <summary>Runs the search's chunks on every core until all are done (by this Worker or others); throws when its run is taken over.</summary>
    public Task RunAsync(BacktestJobs.Run run, Inputs inputs, CancellationToken cancellationToken) =>
        Task.WhenAll(Enumerable.Range(0, Environment.ProcessorCount).Select(_ => TakeAsync(run, inputs, untilAllDone: true, cancellationToken)));

    /// <summary>Takes a chunk of a search another Worker holds and runs it, then the search's others while any is left; false when none was due.</summary>
    public async Task<bool> HelpAsync(CancellationToken cancellationToken)
    {
        SearchChunks.Claim? claim;
        BacktestJobs.Run run;
        Inputs inputs;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var chunks = scope.ServiceProvider.GetRequiredService<SearchChunks>();
            if ((claim = await chunks.ClaimAsync(null, cancellationToken)) is null) return false;
            var (backtest, plan) = await chunks.SearchOfAsync(claim, cancellationToken);
            // Taken over since: the new run plans its own chunks.
            if (backtest.Epoch != claim.Epoch) return true;
            run = new BacktestJobs.Run(backtest, claim.Epoch);
            logger.LogInformation("Search {Job}: helping with its trials (chunk {Chunk})", claim.JobId, claim.Chunk);
            var setup = await scope.ServiceProvider.GetRequiredService<BacktestInputs>().SetupAsync(backtest, plan, cancellationToken);
            var candles = await BacktestInputs.ReadCandlesAsync(await chunks.OpenAsync(cancellationToken), setup, plan.Until, cancellationToken);
            var search = SearchSpec.FromJson(backtest.Search!).Setup(setup, backtest.Knobs);
            inputs = new Inputs(search, Optimizer.Candidates(search.Ranges, search.Random, search.Trials, search.Seed), candles);
        }
        // The chunk taken first, then more on its core; the other cores take theirs at once.
        async Task FirstThenMoreAsync()
        {
            await RunChunkAsync(run, claim, inputs, cancellationToken);
            await TakeAsync(run, inputs, untilAllDone: false, cancellationToken);
        }
        await Task.WhenAll([FirstThenMoreAsync(), .. Enumerable.Range(1, Environment.ProcessorCount - 1).Select(_ => TakeAsync(run, inputs, untilAllDone: false, cancellationToken))]);
        return true;
    }

    /// <summary>One core's turn: chunk after chunk of the run, until none is left to take (or, <paramref name="untilAllDone"/>, until all are done).</summary>
    private async Task TakeAsync(BacktestJobs.Run run, Inputs inputs, bool untilAllDone, CancellationToken cancellationToken)
    {
        while (true)
        {
            await using (var scope = scopes.CreateAsyncScope())
            {
                var chunks = scope.ServiceProvider.GetRequiredService<SearchChunks>();
                if (await chunks.ClaimAsync(run, cancellationToken) is { } claim)
                {
                    await RunChunkAsync(run, claim, inputs, cancellationToken);
                    continue;
                }
                if (!untilAllDone || (await chunks.DoneAsync(run, cancellationToken)).ChunksLeft == 0) return;
            }
            await Task.Delay(LookEvery, time, cancellationToken);
        }
    }

    /// <summary>
    /// Runs a chunk's trials under its heartbeat and writes their runs; stops, writing nothing, when the heartbeat is refused.
    /// A strategy that fails fails the search at once (under the search's token), with the strategy's message.
    /// </summary>
    private async Task RunChunkAsync(BacktestJobs.Run run, SearchChunks.Claim claim, Inputs inputs, CancellationToken cancellationToken)
    {
        using var held = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeat = Heartbeat.KeepAsync(scopes, options.Value.HeartbeatEvery, time,
            (services, token) => services.GetRequiredService<SearchChunks>().HeartbeatAsync(claim, token), held,
            missed => logger.LogWarning("Search {Job}: chunk {Chunk}'s heartbeat not written: {Message}", claim.JobId, claim.Chunk, missed));
        try
        {
            // On a thread of its own: a chunk computes for seconds without a pause, and on the thread pool (two threads on two
            // cores) it would hold back every continuation of the process, the other core's next claim among them.
            var runs = await Task.Factory.StartNew(() => Optimizer.RunTrials(inputs.Search, inputs.Candidates, claim.FirstTrial, claim.TrialCount, inputs.Candles,
                held.Token), held.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await using var scope = scopes.CreateAsyncScope();
            if (!await scope.ServiceProvider.GetRequiredService<SearchChunks>().CompleteAsync(claim, runs, cancellationToken))
                logger.LogInformation("Search {Job}: chunk {Chunk} not written (taken over, or its search ended)", claim.JobId, claim.Chunk);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogInformation("Search {Job}: chunk {Chunk} stopped (taken over, or its search ended)", claim.JobId, claim.Chunk);
        }
        catch (StrategyFailedException failed)
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<BacktestJobs>().FailAsync(run, failed.Message, cancellationToken);
        }
        finally
        {
            await held.CancelAsync();
            await heartbeat;
        }
    }
}
