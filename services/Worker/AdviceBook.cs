using System.Collections.Concurrent;
using TradingBots.Events;
using TradingBots.Strategies;

namespace TradingBots.Worker;

/// <summary>
/// The advice of advised strategies (llm), asked once per closed candle and per bot and symbol, apart from the ticks: a
/// tick starts the question when a new candle has closed and waits for answers only until the tick's shared
/// <c>deadline</c> (<see cref="Patience"/> after it began), so a slow model never holds a tick (nor the batch, nor the
/// leases); an answer that comes later is used by the next tick, while its candle is still the newest (an answer about
/// an older candle is dropped). The last decision stays in every tick's message until the next one.
/// </summary>
public sealed class AdviceBook(Advisor advisor)
{
    /// <summary>How long a tick waits, for all of its bots together, for answers asked in that tick.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMilliseconds(200);

    private sealed class Entry(long candle, Task<(Advice? Advice, string? Problem)> ask)
    {
        public long Candle { get; } = candle;
        public Task<(Advice? Advice, string? Problem)> Ask { get; } = ask;
        public bool Used { get; set; }
    }

    private readonly ConcurrentDictionary<(long Bot, string Symbol), Entry> _asks = new();
    private readonly ConcurrentDictionary<(long Bot, string Symbol), string> _said = new();

    /// <summary>What there is for the bot's symbol this tick: advice to act on (once), or why there is none (once), and the note for the job's message.</summary>
    public async Task<(Advice? Advice, string? Problem, string? Note)> TakeAsync(long bot, IAdvisedStrategy strategy, StrategyInput input, string timeframe,
        DateTimeOffset deadline, TimeProvider time, CancellationToken cancellationToken)
    {
        var key = (bot, input.Symbol);
        var newest = input.ClosedCandles[^1].OpenTime;
        var entry = _asks.AddOrUpdate(key, _ => Ask(), (_, old) => old.Candle < newest && old.Ask.IsCompleted ? Ask() : old);
        var wait = deadline - time.GetUtcNow();
        if (!entry.Ask.IsCompleted && wait > TimeSpan.Zero)
        {
            try { await entry.Ask.WaitAsync(wait, time, cancellationToken); }
            catch (TimeoutException) { }
        }
        _said.TryGetValue(key, out var said);
        lock (entry)
        {
            if (!entry.Ask.IsCompleted || entry.Used || entry.Candle != newest) return (null, null, said);
            entry.Used = true;
        }
        var (advice, problem) = entry.Ask.Result;
        var model = strategy.Model(input.Knobs);
        said = advice is { } a ? $"{input.Symbol}: {model} says {a.Action} ({WireJson.Format(a.Confidence)}): {a.Reason}"
            : $"{input.Symbol}: no decision from {model}, holding ({problem})";
        _said[key] = said;
        return (advice, problem, said);

        Entry Ask() => new(newest, advisor.AskAsync(strategy.Ask(input, timeframe), CancellationToken.None));
    }

    /// <summary>Forgets a bot whose run ended.</summary>
    public void Forget(long bot)
    {
        foreach (var key in _asks.Keys.Where(k => k.Bot == bot)) _asks.TryRemove(key, out _);
        foreach (var key in _said.Keys.Where(k => k.Bot == bot)) _said.TryRemove(key, out _);
    }
}
