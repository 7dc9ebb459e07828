namespace TradingBots.Strategies.Indicators;

/// <summary>
/// Simple moving average of the last <c>period</c> values: their sum ÷ period. Streaming: each value is O(1) (a running
/// sum, exact in decimal); null until <c>period</c> values came.
/// </summary>
public sealed class Sma
{
    private readonly Window _window;

    public Sma(int period) => _window = new Window(period);

    public int Period => _window.Period;

    public decimal? Add(decimal value)
    {
        _window.Add(value);
        return _window.Full ? _window.Sum / _window.Period : null;
    }

    /// <summary>The batch form, from the definition: each value's window summed anew.</summary>
    public static decimal?[] Of(IReadOnlyList<decimal> values, int period)
    {
        Window.Check(period);
        var result = new decimal?[values.Count];
        for (var i = period - 1; i < values.Count; i++)
        {
            var sum = 0m;
            for (var j = i - period + 1; j <= i; j++) sum += values[j];
            result[i] = sum / period;
        }
        return result;
    }
}

/// <summary>
/// Exponential moving average, TA-Lib's: α = 2 / (period + 1); the first value is the SMA of the first <c>period</c>
/// values, then EMA = α × value + (1 − α) × previous EMA. Streaming O(1); null until <c>period</c> values came.
/// </summary>
public sealed class Ema
{
    private readonly Sma _seed;
    private readonly decimal _alpha;
    private decimal? _value;

    public Ema(int period)
    {
        _seed = new Sma(period);
        _alpha = 2m / (period + 1);
    }

    public decimal? Add(decimal value)
    {
        if (_value is { } previous) return _value = Step(_alpha, value, previous);
        return _value = _seed.Add(value);
    }

    private static decimal Step(decimal alpha, decimal value, decimal previous) => alpha * value + (1 - alpha) * previous;

    /// <summary>The batch form: the seed averaged, then the recursion over the array.</summary>
    public static decimal?[] Of(IReadOnlyList<decimal> values, int period)
    {
        var result = new decimal?[values.Count];
        if (values.Count < period) return result;
        var seed = Sma.Of(values, period);
        var alpha = 2m / (period + 1);
        result[period - 1] = seed[period - 1];
        for (var i = period; i < values.Count; i++) result[i] = Step(alpha, values[i], result[i - 1]!.Value);
        return result;
    }
}

/// <summary>
/// Weighted moving average: the last <c>period</c> values weighted 1 (oldest) … period (newest), ÷ period (period + 1) / 2.
/// Streaming O(1): the weighted sum moves by period × new − the plain sum before it.
/// </summary>
public sealed class Wma
{
    private readonly Window _window;
    private decimal _weighted;

    public Wma(int period) => _window = new Window(period);

    public decimal? Add(decimal value)
    {
        var sumBefore = _window.Sum;
        var full = _window.Full;
        _window.Add(value);
        // Full before: every value's weight drops by one and the oldest (weight 1) leaves; else the new one is the n-th.
        _weighted = full ? _weighted + _window.Period * value - sumBefore : _weighted + _window.Count * value;
        return _window.Full ? _weighted / Divisor(_window.Period) : null;
    }

    private static decimal Divisor(int period) => period * (period + 1) / 2m;

    /// <summary>The batch form, from the definition.</summary>
    public static decimal?[] Of(IReadOnlyList<decimal> values, int period)
    {
        Window.Check(period);
        var result = new decimal?[values.Count];
        for (var i = period - 1; i < values.Count; i++)
        {
            var sum = 0m;
            for (var w = 1; w <= period; w++) sum += w * values[i - period + w];
            result[i] = sum / Divisor(period);
        }
        return result;
    }
}

/// <summary>The last <c>period</c> values in a ring, with their running sum.</summary>
internal sealed class Window
{
    private readonly decimal[] _values;
    private int _next;

    public Window(int period)
    {
        Check(period);
        _values = new decimal[period];
    }

    public static void Check(int period)
    {
        if (period < 1) throw new ArgumentOutOfRangeException(nameof(period), period, "a period is 1 or more");
    }

    public int Period => _values.Length;
    public int Count { get; private set; }
    public bool Full => Count == _values.Length;
    public decimal Sum { get; private set; }

    /// <summary>The value that leaves when the next one comes (the oldest), once full.</summary>
    public decimal Oldest => _values[_next];

    /// <summary>The i-th value, 0 the oldest.</summary>
    public decimal this[int i] => _values[(_next - Count + i + 2 * _values.Length) % _values.Length];

    public void Add(decimal value)
    {
        if (Full) Sum -= _values[_next];
        else Count++;
        _values[_next] = value;
        Sum += value;
        _next = (_next + 1) % _values.Length;
    }
}
