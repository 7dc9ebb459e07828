namespace TradingBots.Strategies.Indicators;

/// <summary>Bollinger Bands at one close: the middle (SMA), the upper and lower bands, and the standard deviation.</summary>
public readonly record struct BollingerValue(decimal Middle, decimal Upper, decimal Lower, decimal Deviation);

/// <summary>
/// Bollinger Bands (20, 2 by custom): the SMA of the last <c>period</c> closes ± <c>width</c> × their population standard
/// deviation (÷ n, as Bollinger and TA-Lib define it). The variance is (n Σx² − (Σx)²) ÷ n², from exact running sums and one
/// division, so streaming (O(1)) and batch give the same digits; its square root is <see cref="DecimalMath.Sqrt"/>.
/// </summary>
public sealed class Bollinger
{
    private readonly Window _window, _squares;
    private readonly decimal _width;

    public Bollinger(int period = 20, decimal width = 2m)
    {
        (_window, _squares, _width) = (new Window(period), new Window(period), width);
    }

    public BollingerValue? Add(decimal close)
    {
        _window.Add(close);
        _squares.Add(close * close);
        return _window.Full ? Value(_window.Sum, _squares.Sum, _window.Period, _width) : null;
    }

    private static BollingerValue Value(decimal sum, decimal squares, int n, decimal width)
    {
        var deviation = DecimalMath.Sqrt(Math.Max(0, (n * squares - sum * sum) / ((decimal)n * n)));
        var middle = sum / n;
        return new BollingerValue(middle, middle + width * deviation, middle - width * deviation, deviation);
    }

    /// <summary>The batch form: each window's sums found anew.</summary>
    public static BollingerValue?[] Of(IReadOnlyList<decimal> closes, int period = 20, decimal width = 2m)
    {
        Window.Check(period);
        var result = new BollingerValue?[closes.Count];
        for (var i = period - 1; i < closes.Count; i++)
        {
            var (sum, squares) = (0m, 0m);
            for (var j = i - period + 1; j <= i; j++) (sum, squares) = (sum + closes[j], squares + closes[j] * closes[j]);
            result[i] = Value(sum, squares, period, width);
        }
        return result;
    }
}

/// <summary>
/// Wilder's average true range: a candle's true range is the largest of high − low, |high − previous close| and
/// |low − previous close| (from the second candle on); the first ATR is the mean of the first <c>period</c> true ranges,
/// then (previous × (period − 1) + true range) ÷ period. The first value comes with the (period + 1)-th candle, as TA-Lib's.
/// </summary>
public sealed class Atr
{
    private readonly int _period;
    private decimal? _close;
    private int _ranges;
    private decimal _atr;

    public Atr(int period = 14)
    {
        Window.Check(period);
        _period = period;
    }

    public decimal? Add(Candle candle)
    {
        if (_close is not { } previous)
        {
            _close = candle.Close;
            return null;
        }
        _close = candle.Close;
        var range = TrueRange(candle, previous);
        _ranges++;
        if (_ranges < _period)
        {
            _atr += range;
            return null;
        }
        return _atr = _ranges == _period ? (_atr + range) / _period : (_atr * (_period - 1) + range) / _period;
    }

    public static decimal TrueRange(Candle candle, decimal previousClose) =>
        Math.Max(candle.High - candle.Low, Math.Max(Math.Abs(candle.High - previousClose), Math.Abs(candle.Low - previousClose)));

    /// <summary>The batch form: the same recursion over the array.</summary>
    public static decimal?[] Of(IReadOnlyList<Candle> candles, int period = 14)
    {
        Window.Check(period);
        var result = new decimal?[candles.Count];
        if (candles.Count <= period) return result;
        var atr = 0m;
        for (var i = 1; i <= period; i++) atr += TrueRange(candles[i], candles[i - 1].Close);
        result[period] = atr /= period;
        for (var i = period + 1; i < candles.Count; i++) result[i] = atr = (atr * (period - 1) + TrueRange(candles[i], candles[i - 1].Close)) / period;
        return result;
    }
}

/// <summary>Decimal square roots, to decimal's precision (28–29 significant digits).</summary>
public static class DecimalMath
{
    /// <summary>
    /// √<paramref name="value"/> by Newton's iteration in decimal alone, from a start at or above the root (the value, or 1),
    /// so each step lowers it until it stops falling: the same input always gives the same digits.
    /// </summary>
    public static decimal Sqrt(decimal value)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(nameof(value), value, "no real square root");
        if (value == 0) return 0;
        var root = Math.Max(value, 1m);
        for (var i = 0; i < 400; i++)
        {
            var next = (root + value / root) / 2;
            if (next >= root) break;
            root = next;
        }
        return root;
    }
}
