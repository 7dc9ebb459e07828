using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using TradingBots.Data;
using TradingBots.Events;
using TradingBots.Paper;
using TradingBots.Strategies;

namespace TradingBots.Worker;

/// <summary>
/// One tick of a batch of bots, as the spec's worker mark-to-market: the latest prices of every symbol of the batch in
/// one request (the market's limit of 20 per call chunks it); for the whole batch, in one transaction, each open
/// trade's unrealized PnL updated with its trade.updated and one portfolio snapshot per bot with its portfolio.snapshot
/// (<see cref="TickWrites"/>); then per bot the strategy asked on the closed candles of the bot's timeframe, its orders
/// executed by the paper engine (the rules, locks and outbox of POST /orders; an idempotency key per job, tick and order,
/// so a tick run again after a takeover trades nothing twice); then, for the batch, the jobs' progress and job.progress.
/// A market failure is one system.notice and the bots go on at the next tick; a strategy that throws puts its bot in
/// error, never the Worker.
/// </summary>
public sealed class BotTicker(IServiceScopeFactory scopes, TradingDbContext db, PriceSource prices, IHttpClientFactory http,
    MarkPrices marks, EventPublisher events, BotRuns runs, TickWrites writes, SeenCandles seen, TimeProvider time, ILogger<BotTicker> logger)
{
    public async Task TickAsync(IReadOnlyList<BotScheduler.Due> due, CancellationToken cancellationToken)
    {
        var ids = due.Select(d => d.BotId).ToList();
        var bots = await db.Bots.AsNoTracking().Where(b => ids.Contains(b.Id)).ToDictionaryAsync(b => b.Id, cancellationToken);
        var active = new List<(Bot Bot, BotScheduler.Due Due)>();
        foreach (var d in due)
        {
            if (!bots.TryGetValue(d.BotId, out var bot)) continue;
            if (bot.StopRequested)
                await runs.EndAsync(bot.Id, d.JobId, JobStatus.Cancelled, BotStatus.Stopped, $"stopped by request after {d.Ticks - 1} tick(s)", cancellationToken);
            else active.Add((bot, d));
        }
        if (active.Count == 0) return;

        IReadOnlyDictionary<string, decimal> live;
        Dictionary<string, decimal> mark;
        try
        {
            // Every symbol the batch trades or holds (a bot may hold one its orders placed by hand bought).
            var activeIds = active.Select(a => a.Bot.Id).ToList();
            var held = await db.Trades.AsNoTracking().Where(t => t.BotId != null && activeIds.Contains(t.BotId.Value) && t.Status == TradeStatus.Open)
                .Select(t => t.Symbol).Distinct().ToListAsync(cancellationToken);
            (live, var unlisted) = await prices.GetListedPricesAsync([.. active.SelectMany(a => a.Bot.Symbols).Union(held)], cancellationToken);
            // A symbol the exchange no longer lists is marked at its last known price (as GET /portfolio does) and not traded.
            mark = new Dictionary<string, decimal>(live);
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

        var open = await writes.MarkAsync([.. active.Select(a => a.Bot)], mark, time.GetUtcNow(), cancellationToken);

        var candles = new Dictionary<(string, string), Task<IReadOnlyList<Candle>>>();
        var progress = new List<TickWrites.Progress>(active.Count);
        foreach (var (bot, d) in active)
        {
            try
            {
                var (knobs, notes) = await DecideAsync(bot, d, live, open[bot.Id], candles, cancellationToken);
                var maxTicks = knobs.Get(BotKnobs.MaxTicks) is { } max ? (int)max : (int?)null;
                var said = notes.Count > 0 ? ": " + string.Join("; ", notes) : "";
                if (maxTicks is { } last && d.Ticks >= last)
                    await runs.EndAsync(bot.Id, d.JobId, JobStatus.Completed, BotStatus.Stopped, $"completed {last} tick(s){said}", cancellationToken);
                else
                    progress.Add(new(bot.Id, d.JobId, maxTicks is { } total ? d.Ticks * 100 / total : Math.Min(d.Ticks, 99),
                        (maxTicks is { } m ? $"tick {d.Ticks} of {m}" : $"{d.Ticks} tick(s) run") + said));
            }
            catch (StrategyFailure ex)
            {
                logger.LogWarning(ex.InnerException, "Bot {Bot}: strategy failed", bot.Id);
                await runs.EndAsync(bot.Id, d.JobId, JobStatus.Failed, BotStatus.Error, ex.Message, cancellationToken);
            }
            catch (Exception ex) when (ex is PriceException or HttpRequestException or JsonException)
            {
                if (ex is not PriceException { Unreachable: false }) await NoticeAsync($"Ticker fetch error: bot {bot.Id}: {ex.Message}");
            }
            catch (Exception ex) when (ex is not (OperationCanceledException or System.Data.Common.DbException or DbUpdateException))
            {
                // Not the strategy's and not a dependency's: logged, and the batch's other bots are still ticked.
                logger.LogWarning(ex, "Bot {Bot}: tick {Tick} failed; the next tick tries again", bot.Id, d.Ticks);
            }
        }
        await writes.ProgressAsync(progress, time.GetUtcNow(), cancellationToken);
    }

    /// <summary>The bot's strategy on each of its symbols, and its orders executed: what happened, for the job's message.</summary>
    private async Task<(KnobValues Knobs, List<string> Notes)> DecideAsync(Bot bot, BotScheduler.Due due, IReadOnlyDictionary<string, decimal> live,
        IReadOnlyList<OpenTrade> open, Dictionary<(string, string), Task<IReadOnlyList<Candle>>> candles, CancellationToken cancellationToken)
    {
        var strategy = StrategyRegistry.Find(bot.Strategy) ?? throw new StrategyFailure($"unknown strategy '{bot.Strategy}'; known: {StrategyRegistry.Known}", null);
        var knobs = KnobValues.Parse(bot.Knobs, StrategyRegistry.KnobsOf(strategy));
        var notes = new List<string>();
        foreach (var symbol in bot.Symbols.Where(live.ContainsKey))
        {
            var key = (symbol, bot.Timeframe);
            if (!candles.TryGetValue(key, out var series))
                candles[key] = series = ClosedCandlesAsync(symbol, bot.Timeframe, strategy.CandlesNeeded(knobs) + SeenCandles.MaxCatchUp, cancellationToken);
            var closed = await series;
            var newCandles = seen.NewSince(bot.Id, symbol, closed);
            IReadOnlyList<StrategyOrder> orders;
            try
            {
                orders = strategy.Decide(new StrategyInput(symbol, closed, live[symbol], open, knobs, newCandles));
            }
            catch (Exception ex) when (ex is not (HttpRequestException or PriceException or JsonException or OperationCanceledException))
            {
                throw new StrategyFailure($"strategy {bot.Strategy} failed on {symbol}: {ex.Message}", ex);
            }
            for (var i = 0; i < orders.Count; i++) notes.Add(await ExecuteAsync(bot, due, orders[i], i, cancellationToken));
        }
        return (knobs, notes);
    }

    /// <summary>One strategy order through the paper engine (its own scope: its own transaction, as a request would have).</summary>
    private async Task<string> ExecuteAsync(Bot bot, BotScheduler.Due due, StrategyOrder order, int index, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var engine = scope.ServiceProvider.GetRequiredService<PaperEngine>();
        try
        {
            if (order.TradeId is { } tradeId)
            {
                await engine.CloseTradeAsync(tradeId, cancellationToken);
                return $"sold {order.Symbol} (trade {tradeId}): {order.Reason}";
            }
            var key = $"job{due.JobId}-tick{due.Ticks}-{order.Symbol}-{index}";
            var request = new OrderRequest(bot.Id, order.Symbol, Sides.Buy, order.QuoteAmount, null);
            var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(request))));
            await engine.PlaceOrderAsync(request, key, hash, cancellationToken);
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
        using var json = JsonDocument.Parse(body);
        var rows = json.RootElement.EnumerateArray().Select(r => new Candle(r[0].GetInt64(), r[1].GetDecimal(), r[2].GetDecimal(), r[3].GetDecimal(),
            r[4].GetDecimal(), r[5].GetDecimal())).ToList();
        return rows.Count > 0 ? rows[..^1] : rows;
    }

    /// <summary>At most one notice per <see cref="NoticeInterval"/> from a Worker: an outage is one notice, not one per tick.</summary>
    private async Task NoticeAsync(string message)
    {
        logger.LogWarning("{Notice}", message);
        var now = time.GetUtcNow().UtcTicks;
        var last = Interlocked.Read(ref _lastNotice);
        if (now - last < NoticeInterval.Ticks || Interlocked.CompareExchange(ref _lastNotice, now, last) != last) return;
        try { await events.PublishAsync(EventTypes.SystemNotice, new SystemNotice(message, time.GetUtcNow())); }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException) { logger.LogWarning("Notice not published: {Message}", ex.Message); }
    }

    private static readonly TimeSpan NoticeInterval = TimeSpan.FromSeconds(10);
    private static long _lastNotice;

    private sealed class StrategyFailure(string message, Exception? inner) : Exception(message, inner);
}

/// <summary>
/// The newest closed candle each bot's strategy has judged, per symbol, in this Worker, so a late tick judges the candles it
/// missed (up to <see cref="MaxCatchUp"/>) and an early one none twice. After a takeover the new Worker starts at 1.
/// </summary>
public sealed class SeenCandles
{
    public const int MaxCatchUp = 30;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(long, string), long> _newest = new();

    public int NewSince(long botId, string symbol, IReadOnlyList<Candle> closed)
    {
        if (closed.Count == 0) return 0;
        var newest = closed[^1].OpenTime;
        var count = _newest.TryGetValue((botId, symbol), out var seen) ? closed.Count(c => c.OpenTime > seen) : 1;
        _newest[(botId, symbol)] = newest;
        return Math.Min(count, MaxCatchUp);
    }
}
