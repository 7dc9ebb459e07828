using TradingBots.Strategies;

namespace TradingBots.UnitTests;

/// <summary>A run's metrics on small series, with hand-derived values (equity 100 → 110 → 99 → 108.9: returns +10 %, −10 %, +10 %).</summary>
public sealed class RunMetricsTests
{
    private static readonly decimal[] Equity = [100m, 110m, 99m, 108.9m];

    private static RunSummary Summary(IReadOnlyList<(decimal, decimal)> trades, decimal periodsPerYear = 1) =>
        RunMetrics.Summarize(Equity, [false, true, true, false], [.. trades.Select(t => t.Item1)], trades.Sum(t => t.Item2), firstClose: 50m, lastClose: 60m, periodsPerYear);

    [Fact]
    public void Return_drawdown_exposure_and_buy_and_hold_are_exact()
    {
        var summary = Summary([]);

        // 108.9 / 100 − 1; the peak 110 fell to 99: 11 / 110; 2 of 4 candles in a position; 60 / 50 − 1.
        Assert.Equal((0.089m, 0.1m, 0.5m, 0.2m), (summary.TotalReturn, summary.MaxDrawdown, summary.Exposure, summary.BuyAndHoldReturn));
    }

    [Fact]
    public void Sharpe_and_sortino_are_the_mean_return_over_its_deviations()
    {
        var summary = Summary([], periodsPerYear: 1);

        // mean = 0.1 / 3; sample variance = (2 × (0.2/3)² + (0.4/3)²) / 2 = 0.04 / 3, so Sharpe = (0.1/3) / √(0.04/3) = 1 / (2√3).
        Assert.Equal(0.288675134595m, summary.Sharpe);
        // downside deviation = √(0.01 / 3), so Sortino = (0.1/3) / √(0.01/3) = 1 / √3.
        Assert.Equal(0.577350269190m, summary.Sortino);
    }

    [Fact]
    public void Annualizing_multiplies_by_the_root_of_the_periods_per_year()
    {
        // 4 periods a year: × √4 = × 2.
        Assert.Equal(0.577350269190m, Summary([], periodsPerYear: 4).Sharpe);
    }

    [Fact]
    public void Win_rate_and_profit_factor_come_from_the_closed_trades()
    {
        var summary = Summary([(12m, 0.2m), (-4m, 0.1m), (0m, 0.1m), (6m, 0.2m)]);

        // 2 of 4 won (a zero PnL is not a win); gains 18 over losses 4; fees 0.6.
        Assert.Equal((0.5m, 4.5m, 0.6m, 4), (summary.WinRate, summary.ProfitFactor, summary.FeesPaid, summary.TradeCount));
    }

    [Fact]
    public void What_is_undefined_is_null_not_a_made_up_number()
    {
        var flat = RunMetrics.Summarize([100m, 100m, 100m], [false, false, false], [5m], 0m, 1m, 1m, 1);

        Assert.Equal((null, null, 1m, null, 0m, 0m), (flat.Sharpe, flat.Sortino, flat.WinRate, flat.ProfitFactor, flat.MaxDrawdown, flat.TotalReturn));
        Assert.Null(Summary([]).WinRate);
    }

    [Theory]
    [InlineData("4", "2")]
    [InlineData("2", "1.4142135623730950488016887242")]
    [InlineData("0.01", "0.1")]
    public void Square_roots_are_exact_to_decimals_last_digit(string x, string root)
    {
        Assert.Equal(decimal.Parse(root, System.Globalization.CultureInfo.InvariantCulture),
            RunMetrics.Sqrt(decimal.Parse(x, System.Globalization.CultureInfo.InvariantCulture)));
    }
}
