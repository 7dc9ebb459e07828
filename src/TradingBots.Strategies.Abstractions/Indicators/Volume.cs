namespace TradingBots.Strategies.Indicators;

/// <summary>
/// Volume-weighted average price over the last <c>period</c> candles (null period: since the first candle): Σ (typical
/// price × volume) ÷ Σ volume, the typical price (high + low + close) ÷ 3, computed as Σ ((high + low + close) × volume) ÷
/// (3 Σ volume): exact running sums, one division. Null while no volume traded.
/// </summary>
public sealed class Vwap
{
    private readonly Window? _priced, _volumes;
    private decimal _pricedSum, _volumeSum;

    public Vwap(int? period = null)
    {
        if (period is { } p) (_priced, _volumes) = (new Window(p), new Window(p));
    }

    public decimal? Add(Candle candle)
    {
        var priced = (candle.High + candle.Low + candle.Close) * candle.Volume;
        if (_priced is not null)
        {
            _priced.Add(priced);
            _volumes!.Add(candle.Volume);
            return _priced.Full ? Value(_priced.Sum, _volumes.Sum) : null;
        }
        (_pricedSum, _volumeSum) = (_pricedSum + priced, _volumeSum + candle.Volume);
        return Value(_pricedSum, _volumeSum);
    }

    private static decimal? Value(decimal priced, decimal volume) => volume == 0 ? null : priced / (3 * volume);

    /// <summary>The batch form, from the definition: each window summed anew.</summary>
    public static decimal?[] Of(IReadOnlyList<Candle> candles, int? period = null)
    {
        var result = new decimal?[candles.Count];
        for (var i = period is { } p ? p - 1 : 0; i < candles.Count; i++)
        {
            var (priced, volume) = (0m, 0m);
            for (var j = period is { } q ? i - q + 1 : 0; j <= i; j++)
                (priced, volume) = (priced + (candles[j].High + candles[j].Low + candles[j].Close) * candles[j].Volume, volume + candles[j].Volume);
            result[i] = Value(priced, volume);
        }
        return result;
    }
}

/// <summary>
/// On-balance volume, TA-Lib's: the first candle's volume, then each candle adds its volume when it closes higher than the
/// one before, subtracts it when lower, and keeps the total when equal.
/// </summary>
public sealed class Obv
{
    private decimal? _close;
    private decimal _total;

    public decimal Add(Candle candle)
    {
        _total = _close is not { } previous ? candle.Volume : _total + Signed(candle, previous);
        _close = candle.Close;
        return _total;
    }

    private static decimal Signed(Candle candle, decimal previousClose) =>
        candle.Close > previousClose ? candle.Volume : candle.Close < previousClose ? -candle.Volume : 0;

    /// <summary>The batch form: the running total over the array.</summary>
    public static decimal[] Of(IReadOnlyList<Candle> candles)
    {
        var result = new decimal[candles.Count];
        for (var i = 0; i < candles.Count; i++) result[i] = i == 0 ? candles[0].Volume : result[i - 1] + Signed(candles[i], candles[i - 1].Close);
        return result;
    }
}
