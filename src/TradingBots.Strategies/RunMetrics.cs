namespace TradingBots.Strategies;

/// <summary>What a run came to, as a backtest's summary reports it (every figure a fraction: 0.21 is 21 %).</summary>
public sealed record RunSummary(decimal TotalReturn, decimal MaxDrawdown, decimal? Sharpe, decimal? Sortino, decimal? WinRate, decimal? ProfitFactor,
    decimal Exposure, decimal FeesPaid, int TradeCount, decimal BuyAndHoldReturn);

/// <summary>
/// The metrics of a run, pure and exact in decimal, each rounded once at the end to <see cref="Scale"/> places, half to
/// even (ratios, not money: the paper rules' amounts are never recomputed here). Over an equity series sampled once per
/// candle (e_0 … e_n) and the closed trades:
/// <list type="bullet">
/// <item>total return e_n / e_0 − 1; buy-and-hold return last close / first close − 1;</item>
/// <item>max drawdown: the largest (peak − e_t) / peak, the peak being the highest equity up to t;</item>
/// <item>returns r_t = e_t / e_(t−1) − 1; Sharpe mean(r) / sample standard deviation(r) × √(periods per year), Sortino
/// mean(r) / √(Σ min(r, 0)² / n) × √(periods per year), both with a risk-free rate of 0, null when the deviation is 0
/// or there are fewer than 2 returns;</item>
/// <item>win rate: closed trades with PnL above 0 over closed trades (null without trades); profit factor: the sum of gains over the
/// sum of losses (null without a loss: it would be infinite);</item>
/// <item>exposure: the share of candles with a position open.</item>
/// </list>
/// </summary>
public static class RunMetrics
{
    public const int Scale = 12;

    /// <param name="closedTrades">Each closed trade's realized PnL (fees deducted).</param>
    /// <param name="feesPaid">Every fee paid in the run, open trades' included (a sum of rounded fees: not rounded again).</param>
    public static RunSummary Summarize(IReadOnlyList<decimal> equity, IReadOnlyList<bool> inPosition, IReadOnlyList<decimal> closedTrades,
        decimal feesPaid, decimal firstClose, decimal lastClose, decimal periodsPerYear)
    {
        if (equity.Count == 0) throw new ArgumentException("an equity series needs at least one point", nameof(equity));
        // An unchanged equity (no position: most candles of most runs) returns 0 without a division.
        var returns = new decimal[equity.Count - 1];
        for (var t = 1; t < equity.Count; t++) returns[t - 1] = equity[t] == equity[t - 1] ? 0m : equity[t] / equity[t - 1] - 1;
        var mean = returns.Length == 0 ? 0m : returns.Sum() / returns.Length;
        var gains = closedTrades.Where(pnl => pnl > 0).Sum();
        var losses = -closedTrades.Where(pnl => pnl < 0).Sum();
        return new RunSummary(
            Round(equity[^1] / equity[0] - 1),
            Round(MaxDrawdown(equity)),
            Sharpe(returns, periodsPerYear, mean) is { } sharpe ? Round(sharpe) : null,
            Sortino(returns, periodsPerYear, mean) is { } sortino ? Round(sortino) : null,
            closedTrades.Count == 0 ? null : Round((decimal)closedTrades.Count(pnl => pnl > 0) / closedTrades.Count),
            losses == 0 ? null : Round(gains / losses),
            inPosition.Count == 0 ? 0 : Round((decimal)inPosition.Count(open => open) / inPosition.Count),
            feesPaid,
            closedTrades.Count,
            Round(lastClose / firstClose - 1));
    }

    public static decimal MaxDrawdown(IReadOnlyList<decimal> equity)
    {
        // Under one peak the deepest point is its lowest equity: one division per peak, not one per point.
        var (peak, low, worst) = (equity[0], equity[0], 0m);
        foreach (var e in equity)
        {
            if (e > peak)
            {
                worst = Math.Max(worst, Drawdown(peak, low));
                (peak, low) = (e, e);
            }
            else if (e < low) low = e;
        }
        return Math.Max(worst, Drawdown(peak, low));
    }

    private static decimal Drawdown(decimal peak, decimal low) => peak > 0 && low < peak ? (peak - low) / peak : 0m;

    public static decimal? Sharpe(IReadOnlyList<decimal> returns, decimal periodsPerYear) =>
        returns.Count < 2 ? null : Sharpe(returns, periodsPerYear, returns.Average());

    private static decimal? Sharpe(IReadOnlyList<decimal> returns, decimal periodsPerYear, decimal mean)
    {
        if (returns.Count < 2) return null;
        // The zero returns (no position) each add mean²: counted, not multiplied one by one.
        var (squares, zeros) = (0m, 0);
        foreach (var r in returns)
        {
            if (r == 0) zeros++;
            else squares += (r - mean) * (r - mean);
        }
        var variance = (squares + zeros * (mean * mean)) / (returns.Count - 1);
        return variance == 0 ? null : mean / Sqrt(variance) * Sqrt(periodsPerYear);
    }

    public static decimal? Sortino(IReadOnlyList<decimal> returns, decimal periodsPerYear) =>
        returns.Count < 2 ? null : Sortino(returns, periodsPerYear, returns.Average());

    private static decimal? Sortino(IReadOnlyList<decimal> returns, decimal periodsPerYear, decimal mean)
    {
        if (returns.Count < 2) return null;
        var downside = 0m;
        foreach (var r in returns) if (r < 0) downside += r * r;
        downside /= returns.Count;
        return downside == 0 ? null : mean / Sqrt(downside) * Sqrt(periodsPerYear);
    }

    /// <summary>√x in decimal by Newton's method, to decimal's last digit.</summary>
    public static decimal Sqrt(decimal x)
    {
        if (x < 0) throw new ArgumentOutOfRangeException(nameof(x), x, "no square root of a negative number");
        if (x == 0) return 0;
        var guess = x > 1 ? x / 2 : 1m;
        for (var i = 0; i < 200; i++)
        {
            var next = (guess + x / guess) / 2;
            if (next == guess) break;
            guess = next;
        }
        return guess;
    }

    private static decimal Round(decimal value) => Math.Round(value, Scale, MidpointRounding.ToEven);
}
