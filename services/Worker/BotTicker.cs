using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Paper;
using TradingBots.Strategies;
using TradingBots.Strategies.Users;

namespace TradingBots.Worker;

/// <summary>
/// One tick of a batch of bots, as the spec's worker mark-to-market: the latest prices of every symbol of the batch in
/// one request (the market's limit of 20 per call chunks it); for the whole batch, in one transaction, each open
/// trade's unrealized PnL updated with its trade.updated and one portfolio snapshot per bot with its portfolio.snapshot
/// (<see cref="TickWrites"/>); then per bot the strategy asked on the closed candles of the bot's timeframe it has not
/// judged yet (the newest judged is kept in the database per run and symbol, so a takeover never judges one again), its
/// orders executed by the paper engine (the rules, locks and outbox of POST /orders; an idempotency key per job, symbol,
/// candle and order, the candle recorded as judged in the order's own transaction); then, for the batch, the candles
/// judged and the jobs' progress and job.progress. Every write is fenced by the claim's token (<see cref="Leases"/>): a
/// bot whose lease was taken over mid-tick writes nothing more. A market failure is one system.notice and the bots go
/// on at the next tick; a strategy that throws or knobs that cannot be read put that bot in error, and a database error
/// of one bot leaves it to the next tick, never the Worker or the batch.
/// </summary>
public sealed class BotTicker(IServiceScopeFactory scopes, TradingDbContext db, StrategyCatalog catalog, PriceSource prices, IHttpClientFactory http,
    MarkPrices marks, EventPublisher events, AdviceBook advice, BotRuns runs, TickWrites writes, TimeProvider time, ILogger<BotTicker> logger)
{
    public async Task TickAsync(IReadOnlyList<BotScheduler.Due> due, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var ids = due.Select(d => d.BotId).ToList();
        var bots = await db.Bots.AsNoTracking().Where(b => ids.Contains(b.Id)).ToDictionaryAsync(b => b.Id, cancellationToken);
        var active = new List<(Bot Bot, BotScheduler.Due Due)>();
        var strategies = new Dictionary<long, IStrategy>();
        foreach (var d in due)
        {
            if (!bots.TryGetValue(d.BotId, out var bot)) continue;
            var strategy = await catalog.FindAsync(bot.Strategy, cancellationToken);
            if (bot.StopRequested)
                await EndAsync(d.Fence, JobStatus.Cancelled, BotStatus.Stopped, $"stopped by request after {d.Ticks - 1} tick(s)", cancellationToken);
            else if (BotRuns.KnobsProblem(bot, strategy) is { } problem)
                await EndAsync(d.Fence, JobStatus.Failed, BotStatus.Error, problem, cancellationToken);
            else
            {
                strategies[bot.Id] = strategy!;
                active.Add((bot, d));
            }
        }
        if (active.Count == 0) return;

        IReadOnlyDictionary<string, Quote> live;
        Dictionary<string, decimal> mark;
        var held = await writes.OpenSymbolsAsync([.. active.Select(a => a.Bot.Id)], cancellationToken);
        try
        {
            // Every symbol the batch trades or holds (a bot may hold one its orders placed by hand bought).
            (live, var unlisted) = await prices.GetListedQuotesAsync([.. active.SelectMany(a => a.Bot.Symbols).Union(held)], cancellationToken);
            // A symbol the exchange no longer lists is marked at its last known price (as GET /portfolio does) and not traded.
            mark = live.ToDictionary(q => q.Key, q => q.Value.Last);
            if (unlisted.Count > 0)
            {
                foreach (var (symbol, last) in await marks.LastFilledAsync(unlisted, cancellationToken)) mark[symbol] = last;
                await NoticeAsync($"Ticker fetch error: not listed on the exchange: {string.Join(", ", unlisted)}");
            }
        }
        catch (PriceException ex)
        {
            // The Market service publishes its own notice for an exchange failure; one that cannot be reached cannot.
            if (ex.Unreachable) await NoticeAsync($"Ticker fetch error: {ex.Message}");
            return;
        }

        var priced = time.GetTimestamp();
        var open = await MarkAsync([.. active.Select(a => (a.Bot, a.Due.Fence))], mark, time.GetUtcNow(), cancellationToken);
        // A bot whose lease was taken over since the claim is the new owner's from here on.
        active.RemoveAll(a => !open.ContainsKey(a.Bot.Id));
        var judged = await writes.JudgedAsync([.. active.Select(a => a.Due.JobId)], cancellationToken);
        var marked = time.GetTimestamp();

        // Each bot's strategy and knobs (both checked above); then the closed candles of every symbol and timeframe of the
        // batch, one request each, as many as the most demanding of its bots needs.
        var deciding = new List<(Bot Bot, BotScheduler.Due Due, IStrategy Strategy, KnobValues Knobs, int Needed)>(active.Count);
        foreach (var (bot, d) in active)
        {
            var strategy = strategies[bot.Id];
            var knobs = KnobValues.Parse(bot.Knobs, StrategyRegistry.KnobsOf(strategy));
            try
            {
                deciding.Add((bot, d, strategy, knobs, strategy.CandlesNeeded(knobs)));
            }
            catch (StrategyFailedException ex)
            {
                await EndAsync(d.Fence, JobStatus.Failed, BotStatus.Error, $"strategy {bot.Strategy} failed: {ex.Message}", cancellationToken);
            }
        }
        var outcomes = new List<Outcome>(deciding.Count);
        var candles = deciding.SelectMany(b => b.Bot.Symbols.Where(live.ContainsKey).Select(symbol => (Key: (symbol, b.Bot.Timeframe), b.Needed)))
            .GroupBy(x => x.Key)
            .ToDictionary(g => g.Key, g => ClosedCandlesAsync(g.Key.symbol, g.Key.Timeframe, g.Max(x => x.Needed) + MaxCatchUp, cancellationToken));

        // The bots' decisions and orders side by side (each order its own scope and transaction under its own account's
        // lock, so bots never wait for each other); the ends of runs and the progress after, on this scope's context.
        var decisions = new Outcome[deciding.Count];
        var adviceDeadline = time.GetUtcNow() + AdviceBook.Patience;
        await Parallel.ForEachAsync(Enumerable.Range(0, deciding.Count), new ParallelOptions { MaxDegreeOfParallelism = OrdersInParallel, CancellationToken = cancellationToken },
            async (i, ct) => decisions[i] = await DecideAsync(deciding[i].Bot, deciding[i].Due, deciding[i].Strategy, deciding[i].Knobs, live, open[deciding[i].Bot.Id], candles,
                judged, adviceDeadline, ct));
        outcomes.AddRange(decisions);

        var orders = 0;
        var progress = new List<TickWrites.Progress>(active.Count);
        foreach (var (bot, d, knobs, notes, failure, seen) in outcomes)
        {
            orders += notes.Count;
            if (failure is not null)
            {
                await EndAsync(d.Fence, JobStatus.Failed, BotStatus.Error, failure, cancellationToken);
                continue;
            }
            if (knobs is null) continue; // a market, database or unexpected failure, or the lease lost: the next tick tries again
            var maxTicks = knobs.Get(BotKnobs.MaxTicks) is { } max ? (int)max : (int?)null;
            var said = notes.Count > 0 ? ": " + string.Join("; ", notes) : "";
            if (maxTicks is { } last && d.Ticks >= last)
                await EndAsync(d.Fence, JobStatus.Completed, BotStatus.Stopped, $"completed {last} tick(s){said}", cancellationToken);
            else
                progress.Add(new(d.Fence, maxTicks is { } total ? d.Ticks * 100 / total : Math.Min(d.Ticks, 99),
                    (maxTicks is { } m ? $"tick {d.Ticks} of {m}" : $"{d.Ticks} tick(s) run") + said, seen));
        }
        var decided = time.GetTimestamp();
        await writes.ProgressAsync(progress, time.GetUtcNow(), cancellationToken);
        var ended = time.GetTimestamp();
        // Where a tick's time goes (the benchmark reads it): Debug, so a Worker does not log a line per tick by default.
        logger.LogDebug("Tick of {Bots} bot(s), {Trades} open trade(s), {Orders} order(s): prices {Prices:0.0} ms, marks {Marks:0.0} ms, "
            + "strategies and orders {Decide:0.0} ms, progress {Progress:0.0} ms, total {Total:0.0} ms",
            active.Count, open.Values.Sum(o => o.Count), orders, Ms(started, priced), Ms(priced, marked), Ms(marked, decided), Ms(decided, ended), Ms(started, ended));
    }

    /// <summary>A run ends under the tick's claim: its job and bot (<see cref="BotRuns"/>), and what this Worker kept for it.</summary>
    private async Task EndAsync(Fence fence, string jobStatus, string botStatus, string message, CancellationToken cancellationToken)
    {
        await runs.EndAsync(fence, jobStatus, botStatus, message, cancellationToken);
        advice.Forget(fence.BotId);
    }

    /// <summary>
    /// The batch's marks (<see cref="TickWrites.MarkAsync"/>) in parts of bots side by side, one per core, each its own
    /// transaction on its own connection, so the database writes them on every core (100,000 open trades: 1.08-1.21 s of
    /// marks in one transaction, 0.90 s in two). A bot is in one part: its events keep their order.
    /// </summary>
    private async Task<IReadOnlyDictionary<long, List<OpenTrade>>> MarkAsync(IReadOnlyList<(Bot Bot, Fence Fence)> batch,
        IReadOnlyDictionary<string, decimal> mark, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var parts = await Task.WhenAll(batch.Chunk((batch.Count + Environment.ProcessorCount - 1) / Environment.ProcessorCount).Select(async part =>
        {
            await using var scope = scopes.CreateAsyncScope();
            return await scope.ServiceProvider.GetRequiredService<TickWrites>().MarkAsync(part, mark, now, cancellationToken);
        }));
        return parts.SelectMany(p => p).ToDictionary();
    }

    /// <summary>Bots whose decisions and orders run at once in a tick (the paper engine's transactions, in their own scopes).</summary>
    private const int OrdersInParallel = 8;

    /// <summary>
    /// What a bot's tick came to: its notes for the job's message, or why its run failed (null knobs: try again next tick),
    /// and the newest candle it judged per symbol.
    /// </summary>
    private sealed record Outcome(Bot Bot, BotScheduler.Due Due, KnobValues? Knobs, List<string> Notes, string? Failure,
        IReadOnlyList<(string Symbol, long OpenTime)> Judged);

    private double Ms(long from, long to) => time.GetElapsedTime(from, to).TotalMilliseconds;

    /// <summary>The bot's strategy on each of its symbols, and its orders executed: what happened, for the job's message.</summary>
    private async Task<Outcome> DecideAsync(Bot bot, BotScheduler.Due due, IStrategy strategy, KnobValues knobs, IReadOnlyDictionary<string, Quote> live,
        IReadOnlyList<OpenTrade> open, IReadOnlyDictionary<(string, string), Task<IReadOnlyList<Candle>>> candles,
        IReadOnlyDictionary<(long, string), long> judged, DateTimeOffset adviceDeadline, CancellationToken cancellationToken)
    {
        var notes = new List<string>();
        var seen = new List<(string, long)>();
        var terms = PaperRules.Terms(bot.Knobs, FillTerms.Bot);
        try
        {
            foreach (var symbol in bot.Symbols.Where(live.ContainsKey))
            {
                // The stops on this tick's price first (StopRule), fenced by the lease alone: no candle decided them. A trade
                // stopped out is no longer open to the strategy.
                List<long>? stopped = null;
                foreach (var trade in open)
                {
                    if (trade.Symbol != symbol || StopRule.OnPrice(strategy.StopsOf(trade, knobs), live[symbol].Last) is not { } exit) continue;
                    notes.Add(await ExecuteAsync(bot, open, new LeaseGuard(due.Fence), StrategyOrder.Close(trade, exit.Reason), null, live[symbol], terms, cancellationToken));
                    (stopped ??= []).Add(trade.TradeId);
                }
                if (stopped is not null) open = [.. open.Where(t => !stopped.Contains(t.TradeId))];

                var closed = await candles[(symbol, bot.Timeframe)];
                // Judged once per closed candle, at its close, as a backtest judges it (FillRule): no new candle, no decision.
                var newCandles = NewCandles(closed, judged.TryGetValue((due.JobId, symbol), out var last) ? last : null);
                // (An advised strategy's answer may come at a later tick: the AdviceBook hands each out once, for the newest candle.)
                if (newCandles == 0 && strategy is not IAdvisedStrategy) continue;
                var input = new StrategyInput(symbol, closed, FillRule.Price(closed), open, knobs, newCandles);
                if (strategy is IAdvisedStrategy advised && closed.Count >= strategy.CandlesNeeded(knobs))
                {
                    var (said, problem, note) = await advice.TakeAsync(bot.Id, advised, input, bot.Timeframe, adviceDeadline, time, cancellationToken);
                    if (note is not null) notes.Add(note);
                    if (problem is not null) await NoticeAsync($"AI decision error: bot {bot.Id} {symbol}: {problem}");
                    input = input with { Advice = said };
                }
                IReadOnlyList<StrategyOrder> orders;
                try
                {
                    orders = strategy.Decide(input);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Bot {Bot}: strategy failed", bot.Id);
                    return new(bot, due, knobs, notes, $"strategy {bot.Strategy} failed on {symbol}: {ex.Message}", seen);
                }
                var guard = new CandleGuard(due.Fence, symbol, closed[^1].OpenTime);
                for (var i = 0; i < orders.Count; i++)
                {
                    // The key names the run, symbol, candle and order, so judging a candle again trades nothing twice.
                    var key = Idempotency.Scoped(Idempotency.Worker, $"job{due.JobId}-{symbol}-{guard.CandleOpenTime}-{i}");
                    notes.Add(OrderRule.Refusal(orders[i], symbol, open)
                        ?? await ExecuteAsync(bot, open, guard, orders[i], key, live[symbol], terms, cancellationToken));
                }
                seen.Add((symbol, guard.CandleOpenTime));
            }
            return new(bot, due, knobs, notes, null, seen);
        }
        catch (LeaseLostException ex)
        {
            logger.LogInformation("{Message}", ex.Message);
        }
        catch (StrategyFailedException ex)
        {
            // Its stops (StopsOf), judged before its decision: the strategy's own failure, as a throwing Decide is.
            return new(bot, due, knobs, notes, $"strategy {bot.Strategy} failed: {ex.Message}", seen);
        }
        catch (Exception ex) when (ex is PriceException or HttpRequestException or JsonException)
        {
            if (ex is not PriceException { Unreachable: false }) await NoticeAsync($"Ticker fetch error: bot {bot.Id}: {ex.Message}");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not the strategy's and not the market's (a database error of this bot's, say): logged, and the batch's other
            // bots are still ticked; this bot's candles not recorded as judged are judged again at its next tick.
            logger.LogWarning(ex, "Bot {Bot}: tick {Tick} failed; the next tick tries again", bot.Id, due.Ticks);
        }
        return new(bot, due, null, notes, null, seen);
    }

    /// <summary>
    /// How many of the closed candles the run has not judged (its newest judged candle's open time, from the database;
    /// none yet: only the newest counts), at most <see cref="MaxCatchUp"/>: 1 normally, more when a tick came late, 0 when
    /// no candle closed since.
    /// </summary>
    public static int NewCandles(IReadOnlyList<Candle> closed, long? judged)
    {
        if (closed.Count == 0) return 0;
        if (judged is not { } newest) return 1;
        var count = 0;
        for (var i = closed.Count - 1; i >= 0 && closed[i].OpenTime > newest; i--) count++;
        return Math.Min(count, MaxCatchUp);
    }

    /// <summary>Candles a late tick judges at most.</summary>
    public const int MaxCatchUp = 30;

    /// <summary>
    /// One strategy order through the paper engine (its own scope: its own transaction, as a request would have), filled by
    /// the bot's <paramref name="terms"/> from the live ticker this tick read (<see cref="FillRule"/>), under the tick's
    /// <paramref name="guard"/>; a buy with its idempotency <paramref name="key"/> (a close is once by itself: a closed trade is 409).
    /// </summary>
    private async Task<string> ExecuteAsync(Bot bot, IReadOnlyList<OpenTrade> open, IOrderGuard guard, StrategyOrder order, string? key, Quote quote,
        FillTerms terms, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var engine = scope.ServiceProvider.GetRequiredService<PaperEngine>();
        try
        {
            if (order.TradeId is { } tradeId)
            {
                // One of the open trades the tick read (OrderRule): the close need not read it again before the lock.
                var held = open.First(t => t.TradeId == tradeId);
                await engine.CloseTradeAsync(tradeId, cancellationToken, at: quote, guard: guard, terms: terms, known: new(bot.Id, held.Symbol, held.Qty));
                return $"sold {order.Symbol} (trade {tradeId}): {order.Reason}";
            }
            var request = new OrderRequest(bot.Id, order.Symbol, Sides.Buy, order.QuoteAmount, null);
            await engine.PlaceOrderAsync(request, key, Idempotency.Hash(request), cancellationToken, at: quote, guard: guard, terms: terms);
            return $"bought {WireJson.Format(order.QuoteAmount!.Value)} of {order.Symbol}: {order.Reason}";
        }
        catch (PaperException ex)
        {
            return $"{order.Side} {order.Symbol} refused: {ex.Reason}";
        }
    }

    /// <summary>Closed candles of a symbol and timeframe from the Market service: every kline but the newest, which is still open.</summary>
    private async Task<IReadOnlyList<Candle>> ClosedCandlesAsync(string symbol, string timeframe, int needed, CancellationToken cancellationToken)
    {
        using var market = http.CreateClient(PriceSource.MarketClient);
        var limit = Math.Min(needed + 1, 1000);
        using var response = await market.GetAsync($"/market/ohlcv?symbol={Uri.EscapeDataString(symbol)}&timeframe={timeframe}&limit={limit}", cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode) throw new PriceException(response.StatusCode, $"candles of {symbol} {timeframe}: market answered {(int)response.StatusCode}");
        var rows = CandleDownload.Parse(body);
        return rows.Count > 0 ? rows[..^1] : rows;
    }

    /// <summary>
    /// At most one notice per <see cref="NoticeInterval"/> from a Worker for each kind (the text before the first colon:
    /// "Ticker fetch error", "AI decision error"): an outage is one notice, not one per tick.
    /// </summary>
    private async Task NoticeAsync(string message)
    {
        logger.LogWarning("{Notice}", message);
        var kind = message[..Math.Max(0, message.IndexOf(':'))];
        var now = time.GetUtcNow().UtcTicks;
        var last = LastNotice.GetOrAdd(kind, 0);
        if (now - last < NoticeInterval.Ticks || !LastNotice.TryUpdate(kind, now, last)) return;
        try { await events.PublishAsync(EventTypes.SystemNotice, new SystemNotice(message, time.GetUtcNow())); }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException) { logger.LogWarning("Notice not published: {Message}", ex.Message); }
    }

    private static readonly TimeSpan NoticeInterval = TimeSpan.FromSeconds(10);
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> LastNotice = new();

}

