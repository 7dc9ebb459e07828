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
        var returns = Enumerable.Range(1, equity.Count - 1).Select(t => equity[t] / equity[t - 1] - 1).ToList();
        var gains = closedTrades.Where(pnl => pnl > 0).Sum();
        var losses = -closedTrades.Where(pnl => pnl < 0).Sum();
        return new RunSummary(
            Round(equity[^1] / equity[0] - 1),
            Round(MaxDrawdown(equity)),
            Sharpe(returns, periodsPerYear) is { } sharpe ? Round(sharpe) : null,
            Sortino(returns, periodsPerYear) is { } sortino ? Round(sortino) : null,
            closedTrades.Count == 0 ? null : Round((decimal)closedTrades.Count(pnl => pnl > 0) / closedTrades.Count),
            losses == 0 ? null : Round(gains / losses),
            inPosition.Count == 0 ? 0 : Round((decimal)inPosition.Count(open => open) / inPosition.Count),
            feesPaid,
            closedTrades.Count,
            Round(lastClose / firstClose - 1));
    }

    public static decimal MaxDrawdown(IReadOnlyList<decimal> equity)
    {
        var (peak, worst) = (equity[0], 0m);
        foreach (var e in equity)
        {
            peak = Math.Max(peak, e);
            if (peak > 0) worst = Math.Max(worst, (peak - e) / peak);
        }
        return worst;
    }

    public static decimal? Sharpe(IReadOnlyList<decimal> returns, decimal periodsPerYear)
    {
        if (returns.Count < 2) return null;
        var mean = returns.Average();
        var variance = returns.Sum(r => (r - mean) * (r - mean)) / (returns.Count - 1);
        return variance == 0 ? null : mean / Sqrt(variance) * Sqrt(periodsPerYear);
    }

    public static decimal? Sortino(IReadOnlyList<decimal> returns, decimal periodsPerYear)
    {
        if (returns.Count < 2) return null;
        var downside = returns.Sum(r => r < 0 ? r * r : 0) / returns.Count;
        return downside == 0 ? null : returns.Average() / Sqrt(downside) * Sqrt(periodsPerYear);
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
