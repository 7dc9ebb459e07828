namespace TradingBots.Strategies;

/// <summary>
/// <c>baseline</c> v1: a simple moving average crossover on closed candles of the bot's timeframe. It buys
/// <c>order_quote</c> when the fast average crosses above the slow one while fewer than <c>max_open_trades</c> are open;
/// it closes every open trade when the fast one crosses below, and any one trade whose price reached its stop loss or
/// take profit (percent from its entry price). Averages are exact decimal means (no rounding: they are only compared);
/// a cross is a change of sign of fast − slow between the last closed candle it had judged and the last one now
/// (equal counts as the side it came from): normally the previous candle, several back when a tick came late.
/// </summary>
public sealed class Baseline : IStrategy
{
    public const string Fast = "fast", Slow = "slow", OrderQuote = "order_quote", StopLossPct = "stop_loss_pct",
        TakeProfitPct = "take_profit_pct", MaxOpenTrades = "max_open_trades";

    public string Name => "baseline";
    public int Version => 1;
    public string Description => "SMA crossover on closed candles: buy when the fast average crosses above the slow one, sell when it "
        + "crosses below, or at the stop loss / take profit";

    public IReadOnlyList<KnobSpec> Knobs { get; } =
    [
        new(Fast, KnobType.Integer, 9, 1, 500, "candles in the fast simple moving average"),
        new(Slow, KnobType.Integer, 21, 2, 1000, "candles in the slow simple moving average (more than fast)"),
        new(OrderQuote, KnobType.Decimal, 100, 0.00000001m, 1_000_000_000_000m, "quote amount of each buy"),
        new(StopLossPct, KnobType.Decimal, null, 0.01m, 99.99m, "close a trade when the price falls this many percent below its entry (absent: off)"),
        new(TakeProfitPct, KnobType.Decimal, null, 0.01m, 10_000m, "close a trade when the price rises this many percent above its entry (absent: off)"),
        new(MaxOpenTrades, KnobType.Integer, 1, 1, 100, "open trades at most (per symbol)"),
    ];

    public int CandlesNeeded(KnobValues knobs) => knobs.Integer(Slow) + 1;

    public IEnumerable<(string Knob, string Reason)> Conflicts(KnobValues knobs)
    {
        if (knobs.Integer(Fast) >= knobs.Integer(Slow)) yield return (Fast, $"must be less than slow ({knobs.Integer(Slow)})");
    }

    public IReadOnlyList<StrategyOrder> Decide(StrategyInput input)
    {
        var orders = new List<StrategyOrder>();
        var open = input.OpenTrades.Where(t => t.Symbol == input.Symbol).ToList();
        var stopLoss = input.Knobs.Get(StopLossPct);
        var takeProfit = input.Knobs.Get(TakeProfitPct);
        foreach (var trade in open.ToList())
        {
            if (stopLoss is { } sl && input.Price <= trade.EntryPrice * (1 - sl / 100))
            {
                orders.Add(StrategyOrder.Close(trade, $"stop loss: {input.Price} is {sl}% or more below the entry {trade.EntryPrice}"));
                open.Remove(trade);
            }
            else if (takeProfit is { } tp && input.Price >= trade.EntryPrice * (1 + tp / 100))
            {
                orders.Add(StrategyOrder.Close(trade, $"take profit: {input.Price} is {tp}% or more above the entry {trade.EntryPrice}"));
                open.Remove(trade);
            }
        }

        var closes = input.ClosedCandles.Select(c => c.Close).ToList();
        if (closes.Count < CandlesNeeded(input.Knobs) || input.NewCandles < 1) return orders;
        var (fast, slow) = (input.Knobs.Integer(Fast), input.Knobs.Integer(Slow));
        var back = Math.Min(input.NewCandles, closes.Count - slow);
        var before = Average(closes, fast, skip: back) - Average(closes, slow, skip: back);
        var now = Average(closes, fast, skip: 0) - Average(closes, slow, skip: 0);

        if (before >= 0 && now < 0)
        {
            orders.AddRange(open.Select(t => StrategyOrder.Close(t, $"SMA{fast} crossed below SMA{slow}")));
        }
        else if (before <= 0 && now > 0 && open.Count < input.Knobs.Integer(MaxOpenTrades))
        {
            orders.Add(StrategyOrder.Buy(input.Symbol, input.Knobs.Decimal(OrderQuote), $"SMA{fast} crossed above SMA{slow}"));
        }
        return orders;
    }

    /// <summary>The mean of the <paramref name="count"/> closes that end <paramref name="skip"/> candles before the last.</summary>
    private static decimal Average(List<decimal> closes, int count, int skip)
    {
        var end = closes.Count - skip;
        var sum = 0m;
        for (var i = end - count; i < end; i++) sum += closes[i];
        return sum / count;
    }
}
