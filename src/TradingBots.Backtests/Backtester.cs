using TradingBots.Paper;
using TradingBots.Strategies;

namespace TradingBots.Backtests;

/// <summary>
/// What a backtest runs: a strategy with its knobs on symbols of one timeframe, judging the candles that open in
/// [<see cref="From"/>, <see cref="To"/>) (Unix ms), from <see cref="StartingCash"/> at <see cref="FeeRate"/>, filling by
/// <see cref="Terms"/> (absent: the spec's rule) under each symbol's exchange <see cref="Rules"/> when the terms apply them.
/// </summary>
public sealed record BacktestSetup(IStrategy Strategy, KnobValues Knobs, IReadOnlyList<string> Symbols, string Timeframe, long From, long To,
    decimal StartingCash, decimal FeeRate, FillTerms? Terms = null, IReadOnlyDictionary<string, ExchangeRules>? Rules = null)
{
    /// <summary>What the backtest applies: its terms' slippage and rules, at candle prices (history keeps no ticker or book).</summary>
    public FillTerms Applied => Terms is { } t ? t with { Model = FillModels.Last, ExchangeRules = t.ExchangeRules && Rules is not null } : Spec;

    private static readonly FillTerms Spec = new(FillModels.Last, 0m, ExchangeRules: false);
}

/// <summary>The account's equity at <see cref="Time"/> (Unix ms): the start, then each candle's close time (its open + the timeframe).</summary>
public readonly record struct EquityPoint(long Time, decimal Equity, decimal Cash);

public sealed record BacktestResult(IReadOnlyList<BacktestTrade> Trades, IReadOnlyList<EquityPoint> Equity, RunSummary Summary, int Candles,
    IReadOnlyList<string> Refusals);

/// <summary>
/// A backtest: the live bots' strategy classes and paper rules driven by the candles' own clock. Each candle of the range,
/// in time order (symbols in the setup's order at one time), is judged once at its close (<see cref="FillRule"/>): the
/// strategy sees the closed candles up to it (at least <see cref="IStrategy.CandlesNeeded"/>, earlier ones from before the
/// range when given: the warm-up), one new candle, the price of its close and the open trades as they were at that time.
/// What it decides fills through the <see cref="Ledger"/> at the next candle's open (as a live bot's order fills at the
/// price of the moment after the close), before that candle is judged, so nothing looks ahead; the orders decided on
/// the range's last candle fill at the open of the candle after the range when it is given, else they are said unfilled.
/// A trade's stops are judged on each candle as it traded (<see cref="StopRule.InCandle"/>) and fill within it, stamped
/// with its open time. The equity is marked at every close (the last point after those fills).
/// </summary>
public static class Backtester
{
    /// <summary>Refusals kept word for word (a run refused on every candle says so in its count).</summary>
    public const int RefusalsKept = 100;

    /// <param name="candles">Each symbol's closed candles in time order, one per open time, warm-up included, and the one after the
    /// range where it has closed (the last orders' fills).</param>
    /// <param name="progress">Told the share of the range judged (0–100) at each whole percent; where to cancel.</param>
    public static BacktestResult Run(BacktestSetup setup, IReadOnlyDictionary<string, Candle[]> candles, Action<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var symbols = setup.Symbols;
        var series = symbols.Select(s => candles[s]).ToArray();
        var next = series.Select(c => FirstAtOrAfter(c, setup.From)).ToArray();
        var last = new decimal[symbols.Count];
        var needed = Math.Max(1, setup.Strategy.CandlesNeeded(setup.Knobs));
        var step = Timeframes.Milliseconds(setup.Timeframe) ?? throw new ArgumentException($"no backtest on {setup.Timeframe} candles");
        var total = series.Sum(c => Math.Max(0, FirstAtOrAfter(c, setup.To) - FirstAtOrAfter(c, setup.From)));

        var ledger = new Ledger(setup.StartingCash, setup.FeeRate, setup.Applied.SlippageBps, setup.Applied.ExchangeRules ? setup.Rules : null);
        var equity = new List<EquityPoint>(total / Math.Max(1, symbols.Count) + 2) { new(setup.From, setup.StartingCash, setup.StartingCash) };
        var inPosition = new List<bool>(equity.Capacity);
        var refusals = new List<string>();
        var refused = 0;
        var judged = 0;
        var percent = -1;
        Func<string, decimal> priceOf = symbol => last[IndexOf(symbols, symbol)];
        // Per symbol, the orders decided on its last candle judged: they fill at its next candle's open.
        var pending = symbols.Select(_ => new List<StrategyOrder>()).ToArray();
        void Refuse(long at, string symbol, string reason)
        {
            if (refused++ < RefusalsKept) refusals.Add($"{DateTimeOffset.FromUnixTimeMilliseconds(at):u} {symbol}: {reason}");
        }
        void Fill(int s, Candle candle)
        {
            foreach (var order in pending[s])
            {
                var refusal = order.TradeId is { } tradeId
                    ? ledger.Close(tradeId, candle.Open, candle.OpenTime, order.Reason)
                    : ledger.Buy(order.Symbol, order.QuoteAmount!.Value, candle.Open, candle.OpenTime, order.Reason);
                if (refusal is not null) Refuse(candle.OpenTime, symbols[s], refusal);
            }
            pending[s].Clear();
        }
        void Stop(int s, Candle candle)
        {
            var trades = ledger.OpenTrades;
            for (var t = 0; t < trades.Count; t++)
            {
                if (trades[t].Symbol != symbols[s] || StopRule.InCandle(setup.Strategy.StopsOf(trades[t], setup.Knobs), candle) is not { } exit) continue;
                if (ledger.Close(trades[t].TradeId, exit.Price, candle.OpenTime, exit.Reason) is { } refusal) Refuse(candle.OpenTime, symbols[s], refusal);
            }
        }

        while (true)
        {
            // The next close in time across the symbols.
            var time = long.MaxValue;
            for (var s = 0; s < series.Length; s++)
                if (next[s] < series[s].Length && series[s][next[s]].OpenTime < setup.To) time = Math.Min(time, series[s][next[s]].OpenTime);
            if (time == long.MaxValue) break;

            var closedAt = time + step; // when the candles opening at this time close: the equity's time
            // What was decided on the candles before fills at these candles' opens; then the stops are judged on how each
            // candle traded (its open, low and high), before any of them is judged at its close.
            for (var s = 0; s < series.Length; s++)
            {
                if (next[s] >= series[s].Length || series[s][next[s]].OpenTime != time) continue;
                if (pending[s].Count > 0) Fill(s, series[s][next[s]]);
                if (ledger.InPosition) Stop(s, series[s][next[s]]);
            }
            var open = ledger.OpenTrades; // as they were at this time, for every symbol (as a live tick reads them once)
            for (var s = 0; s < series.Length; s++)
            {
                var i = next[s];
                if (i >= series[s].Length || series[s][i].OpenTime != time) continue;
                next[s]++;
                judged++;
                last[s] = series[s][i].Close;
                var window = new ArraySegment<Candle>(series[s], Math.Max(0, i + 1 - needed), Math.Min(i + 1, needed));
                var input = new StrategyInput(symbols[s], window, FillRule.Price(window), open, setup.Knobs);
                var orders = setup.Strategy.Decide(input);
                for (var o = 0; o < orders.Count; o++)
                {
                    if (OrderRule.Refusal(orders[o], symbols[s], open) is { } refusal) Refuse(series[s][i].OpenTime, symbols[s], refusal);
                    else pending[s].Add(orders[o]);
                }
            }
            equity.Add(new(closedAt, ledger.Equity(priceOf), ledger.Cash));
            inPosition.Add(ledger.InPosition);

            if (progress is not null && total > 0 && judged * 100L / total is var now && now != percent)
            {
                cancellationToken.ThrowIfCancellationRequested();
                percent = (int)now;
                progress(percent);
            }
        }
        // The last candles' orders: at the next candle's open where it is given (the equity's last point then after them).
        var filledAfter = false;
        for (var s = 0; s < series.Length; s++)
        {
            if (pending[s].Count == 0) continue;
            if (next[s] < series[s].Length)
            {
                last[s] = series[s][next[s]].Open;
                Fill(s, series[s][next[s]]);
                filledAfter = true;
                continue;
            }
            foreach (var order in pending[s])
                Refuse(equity[^1].Time, symbols[s], $"{order.Side} of {order.Symbol} not filled: the candle after the range has not closed yet");
            pending[s].Clear();
        }
        if (filledAfter)
        {
            equity[^1] = equity[^1] with { Equity = ledger.Equity(priceOf), Cash = ledger.Cash };
            inPosition[^1] = ledger.InPosition;
        }
        if (refused > RefusalsKept) refusals.Add($"… and {refused - RefusalsKept} more refusals");

        var first = series[0].AsSpan(FirstAtOrAfter(series[0], setup.From), Math.Max(0, FirstAtOrAfter(series[0], setup.To) - FirstAtOrAfter(series[0], setup.From)));
        var trades = ledger.Trades;
        var summary = RunMetrics.Summarize(equity.ConvertAll(e => e.Equity), inPosition,
            [.. trades.Where(t => !t.IsOpen).Select(t => t.RealizedPnlQuote!.Value)], ledger.FeesPaid,
            first.IsEmpty ? 1 : first[0].Close, first.IsEmpty ? 1 : first[^1].Close,
            Timeframes.PerYear(step));
        return new BacktestResult(trades, equity, summary, judged, refusals);
    }

    private static int IndexOf(IReadOnlyList<string> symbols, string symbol)
    {
        for (var i = 0; i < symbols.Count; i++) if (symbols[i] == symbol) return i;
        throw new ArgumentException($"{symbol} is not one of the backtest's symbols");
    }

    /// <summary>The index of the first candle opening at or after <paramref name="time"/> (binary search: candles are in time order).</summary>
    private static int FirstAtOrAfter(Candle[] candles, long time)
    {
        var (lo, hi) = (0, candles.Length);
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (candles[mid].OpenTime < time) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
