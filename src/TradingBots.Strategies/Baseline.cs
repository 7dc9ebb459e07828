namespace TradingBots.Strategies;

/// <summary>
/// <c>baseline</c> v1: a simple moving average crossover on closed candles of the bot's timeframe. It buys
/// <c>order_quote</c> when the fast average crosses above the slow one while fewer than <c>max_open_trades</c> are open;
/// it closes every open trade when the fast one crosses below. A trade's stop loss and take profit (percent from its entry
/// price, <see cref="StopsOf"/>) are judged on every price by <see cref="StopRule"/>, not here. The averages are only compared, exactly (sums cross-multiplied, no rounding);
/// a cross is a change of sign of fast − slow between the last closed candle it had judged and the last one now
/// (equal counts as the side it came from): normally the previous candle, several back when a tick came late.
/// </summary>
public sealed class Baseline : IStrategy
{
    public const string Fast = "fast", Slow = "slow", OrderQuote = StrategyParts.OrderQuote, StopLossPct = StrategyParts.StopLossPct,
        TakeProfitPct = StrategyParts.TakeProfitPct, MaxOpenTrades = StrategyParts.MaxOpenTrades;

    public string Name => "baseline";
    public int Version => 1;
    public string Description => "SMA crossover on closed candles: buy when the fast average crosses above the slow one, sell when it "
        + "crosses below, or at the stop loss / take profit";

    public IReadOnlyList<KnobSpec> Knobs { get; } =
    [
        new(Fast, KnobType.Integer, 9, 1, 500, "candles in the fast simple moving average"),
        new(Slow, KnobType.Integer, 21, 2, 1000, "candles in the slow simple moving average (more than fast)"),
        StrategyParts.OrderQuoteKnob,
        .. StrategyParts.ExitKnobs,
        StrategyParts.MaxOpenTradesKnob,
    ];

    public int CandlesNeeded(KnobValues knobs) => knobs.Integer(Slow) + 1;

    public IEnumerable<(string Knob, string Reason)> Conflicts(KnobValues knobs)
    {
        if (!Ordered(knobs.Integer(Fast), knobs.Integer(Slow))) yield return (Fast, $"must be less than slow ({knobs.Integer(Slow)})");
    }

    /// <summary>The averages' one rule: fast below slow (fast's range, from 1, is its spec's).</summary>
    private static bool Ordered(int fast, int slow) => fast < slow;

    /// <summary>stop_loss_pct below the entry price and take_profit_pct above it, exactly (no rounding: a price is compared with it).</summary>
    public Stops StopsOf(OpenTrade trade, KnobValues knobs) => StrategyParts.PercentStops(trade, knobs);

    public IReadOnlyList<StrategyOrder> Decide(StrategyInput input)
    {
        // Written without copies or LINQ: a backtest asks once per candle, a year of 1m candles is half a million asks.
        List<StrategyOrder>? orders = null;
        var knobs = input.Knobs;
        var trades = input.OpenTrades;
        var open = 0;
        for (var i = 0; i < trades.Count; i++) if (trades[i].Symbol == input.Symbol) open++;

        var closes = input.ClosedCandles;
        var (fast, slow) = (knobs.Integer(Fast), knobs.Integer(Slow));
        // The API refuses such knobs; a row written by hand (or by an older version) is told, not traded on.
        if (fast < 1 || !Ordered(fast, slow)) throw new ArgumentException($"knobs fast {fast} and slow {slow}: fast must be at least 1 and below slow");
        if (closes.Count < slow + 1 || input.NewCandles < 1) return [];
        var back = Math.Min(input.NewCandles, closes.Count - slow);
        var (before, now) = Spreads(closes, fast, slow, back);

        if (before >= 0 && now < 0)
        {
            for (var i = 0; i < trades.Count; i++)
            {
                var trade = trades[i];
                if (trade.Symbol == input.Symbol) (orders ??= []).Add(StrategyOrder.Close(trade, $"SMA{fast} crossed below SMA{slow}"));
            }
        }
        else if (before <= 0 && now > 0 && open < knobs.Integer(MaxOpenTrades))
        {
            (orders ??= []).Add(StrategyOrder.Buy(input.Symbol, knobs.Decimal(OrderQuote), $"SMA{fast} crossed above SMA{slow}"));
        }
        return orders ?? (IReadOnlyList<StrategyOrder>)[];
    }

    /// <summary>
    /// The signs of SMA(fast) − SMA(slow) at the candle <paramref name="back"/> before the last and at the last, exactly:
    /// sum(fast) × slow − sum(slow) × fast has the sign of the difference of the means, with no division to round. The
    /// sums at the last candle are those before it moved forward <paramref name="back"/> candles (decimal sums are exact).
    /// </summary>
    private static (int Before, int Now) Spreads(IReadOnlyList<Candle> candles, int fast, int slow, int back)
    {
        // A backtest's window is a segment of its array, a live tick's a list: read either without a call per candle.
        ReadOnlySpan<Candle> closes = candles switch
        {
            ArraySegment<Candle> segment => segment.AsSpan(),
            Candle[] array => array,
            List<Candle> list => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list),
            _ => [.. candles],
        };
        var end = closes.Length - back;
        var (fastSum, slowSum) = (0m, 0m);
        for (var i = end - slow; i < end; i++)
        {
            var close = closes[i].Close;
            slowSum += close;
            if (i >= end - fast) fastSum += close;
        }
        var before = Math.Sign(fastSum * slow - slowSum * fast);
        for (var i = end; i < closes.Length; i++)
        {
            var close = closes[i].Close;
            (fastSum, slowSum) = (fastSum + close - closes[i - fast].Close, slowSum + close - closes[i - slow].Close);
        }
        return (before, Math.Sign(fastSum * slow - slowSum * fast));
    }
}
