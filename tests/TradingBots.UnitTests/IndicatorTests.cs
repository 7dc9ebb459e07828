using TradingBots.Strategies;
using TradingBots.Strategies.Indicators;

namespace TradingBots.UnitTests;

/// <summary>
/// The indicators, with figures derived by hand on short series (compared to 20 decimal places where a division or a root
/// leaves decimal's last digit to rounding), and their streaming and batch forms digit for digit on a long series.
/// </summary>
public sealed class IndicatorTests
{
    private static decimal? R(decimal? value) => value is { } v ? Math.Round(v, 20) : null;

    /// <summary>Candles from (high, low, close, volume); open is the close before.</summary>
    private static Candle[] Candles(params (decimal High, decimal Low, decimal Close, decimal Volume)[] rows) =>
        [.. rows.Select((r, i) => new Candle(i * 60_000L, i == 0 ? r.Close : rows[i - 1].Close, r.High, r.Low, r.Close, r.Volume))];

    private static readonly Candle[] Five = Candles((10, 8, 9, 1), (11, 9, 10, 3), (12, 10, 11, 2), (15, 11, 14, 4), (10, 9, 9.5m, 5));

    [Fact]
    public void Sma_is_the_mean_of_the_last_period_values()
    {
        Assert.Equal([null, null, 2m, 3m, 4m], Sma.Of([1, 2, 3, 4, 5], 3));
    }

    [Fact]
    public void Ema_is_seeded_by_the_sma_then_smoothed_by_two_over_period_plus_one()
    {
        // α = 2 / 4 = 0.5; seed (2 + 4 + 6) / 3 = 4; then (8 + 4) / 2 = 6 and (12 + 6) / 2 = 9.
        Assert.Equal([null, null, 4m, 6m, 9m], Ema.Of([2, 4, 6, 8, 12], 3));
    }

    [Fact]
    public void Wma_weights_the_newest_most()
    {
        // (1·1 + 2·2 + 3·3) / 6, (1·2 + 2·3 + 3·4) / 6, (1·3 + 2·4 + 3·5) / 6.
        Assert.Equal([null, null, R(14m / 6), R(20m / 6), R(26m / 6)], Wma.Of([1, 2, 3, 4, 5], 3).Select(R));
    }

    [Fact]
    public void Rsi_smooths_gains_and_losses_as_wilder()
    {
        // Changes +1, −1, +2, 0. First averages (period 2): gain 0.5, loss 0.5 → 50. Then gain (0.5 + 2) / 2 = 1.25, loss
        // (0.5 + 0) / 2 = 0.25 → 100 × 1.25 / 1.5; then 0.625 and 0.125 → 100 × 0.625 / 0.75. Flat: 50.
        Assert.Equal([null, null, 50m, R(125m / 1.5m), R(62.5m / 0.75m)], Rsi.Of([10, 11, 10, 12, 12], 2).Select(R));
        Assert.Equal([null, null, 50m], Rsi.Of([7, 7, 7], 2));
    }

    [Fact]
    public void Macd_is_the_fast_ema_less_the_slow_one_with_its_signal()
    {
        // EMA2 (α 2/3) of 1…6: 1.5, 2.5, 3.5, 4.5, 5.5 from the 2nd; EMA3 (α 1/2): 2, 3, 4, 5 from the 3rd. MACD 0.5 from the
        // 3rd close; its EMA2 signal, seeded by the mean of the first two MACD values, 0.5 from the 4th; histogram 0.
        var macd = Macd.Of([1, 2, 3, 4, 5, 6], fast: 2, slow: 3, signal: 2);
        Assert.Equal([null, null, null], macd[..3]);
        Assert.All(macd[3..], m => Assert.Equal((0.5m, 0.5m, 0m), (R(m!.Value.Macd), R(m.Value.Signal), R(m.Value.Histogram))));
    }

    [Fact]
    public void Bollinger_bands_are_the_sma_plus_and_minus_width_population_deviations()
    {
        // 1, 2, 3: mean 2, variance (1 + 0 + 1) / 3 = 2/3, deviation √(2/3) = 0.81649658092772603273242802490196…
        var band = Bollinger.Of([1, 2, 3], period: 3, width: 2)[2]!.Value;
        Assert.Equal((2m, 0.81649658092772603273m, 3.63299316185545206546m, 0.36700683814454793454m),
            (band.Middle, R(band.Deviation), R(band.Upper), R(band.Lower)));
        Assert.Equal(0m, Bollinger.Of([5, 5, 5], period: 3)[2]!.Value.Deviation);
    }

    [Fact]
    public void Atr_averages_true_ranges_as_wilder()
    {
        // True ranges from the 2nd candle: 2, 2, 4, and 5 for the gap down (|9 − 14|). ATR(2): (2 + 2) / 2 = 2, then
        // (2 + 4) / 2 = 3, then (3 + 5) / 2 = 4.
        Assert.Equal([null, null, 2m, 3m, 4m], Atr.Of(Five, period: 2));
    }

    [Fact]
    public void The_fast_stochastic_places_the_close_in_the_recent_range()
    {
        // Over 3 candles: 100 × (11 − 8) / (12 − 8) = 75; 100 × (14 − 9) / (15 − 9); 100 × (9.5 − 9) / (15 − 9). %D over 2.
        var k3 = 500m / 6;
        var k4 = 50m / 6;
        (decimal K, decimal? D)?[] expected = [null, null, (75m, null), (R(k3)!.Value, R((75 + k3) / 2)), (R(k4)!.Value, R((k3 + k4) / 2))];
        Assert.Equal(expected, Stochastic.Of(Five, kPeriod: 3, dPeriod: 2).Select(s => s is { } v ? (R(v.K)!.Value, R(v.D)) : ((decimal K, decimal? D)?)null));
    }

    [Fact]
    public void Vwap_weights_the_typical_price_by_volume()
    {
        // Typical prices 9, 10, 11: (9·1 + 10·3) / 4 = 9.75, then (39 + 11·2) / 6; over the last 2: (30 + 22) / 5 = 10.4.
        Assert.Equal([9m, 9.75m, R(61m / 6)], Vwap.Of(Five[..3]).Select(R));
        Assert.Equal([null, 9.75m, 10.4m], Vwap.Of(Five[..3], period: 2).Select(R));
    }

    [Fact]
    public void Obv_adds_the_volume_of_an_up_close_and_takes_that_of_a_down_close()
    {
        // 1, then up +3, up +2, up +4, down −5.
        Assert.Equal([1m, 4m, 6m, 10m, 5m], Obv.Of(Five));
    }

    /// <summary>A seeded walk of 400 candles with 2–8 decimal prices, so running sums and recursions meet real digits.</summary>
    private static Candle[] Walk()
    {
        var random = new Random(20261205);
        var candles = new Candle[400];
        var close = 3500.12m;
        for (var i = 0; i < candles.Length; i++)
        {
            var open = close;
            close = Math.Round(open * (1 + (decimal)(random.NextDouble() - 0.5) / 50), random.Next(2, 9));
            var (high, low) = (Math.Max(open, close) + Math.Round((decimal)random.NextDouble() * 3, 2), Math.Min(open, close) - Math.Round((decimal)random.NextDouble() * 3, 2));
            candles[i] = new Candle(i * 60_000L, open, high, low, close, Math.Round((decimal)random.NextDouble() * 100, 4));
        }
        return candles;
    }

    [Fact]
    public void Streaming_and_batch_forms_give_the_same_digits()
    {
        var candles = Walk();
        var closes = candles.Select(c => c.Close).ToArray();

        Assert.Equal(Sma.Of(closes, 20), Stream(closes, new Sma(20).Add));
        Assert.Equal(Ema.Of(closes, 20), Stream(closes, new Ema(20).Add));
        Assert.Equal(Wma.Of(closes, 20), Stream(closes, new Wma(20).Add));
        Assert.Equal(Rsi.Of(closes, 14), Stream(closes, new Rsi(14).Add));
        Assert.Equal(Macd.Of(closes), Stream(closes, new Macd().Add));
        Assert.Equal(Bollinger.Of(closes), Stream(closes, new Bollinger().Add));
        Assert.Equal(Atr.Of(candles), Stream(candles, new Atr().Add));
        Assert.Equal(Stochastic.Of(candles), Stream(candles, new Stochastic().Add));
        Assert.Equal(Vwap.Of(candles), Stream(candles, new Vwap().Add));
        Assert.Equal(Vwap.Of(candles, 30), Stream(candles, new Vwap(30).Add));
        Assert.Equal(Obv.Of(candles), Stream(candles, new Obv().Add));
    }

    private static T[] Stream<TIn, T>(IReadOnlyList<TIn> inputs, Func<TIn, T> add) => [.. inputs.Select(add)];
}
