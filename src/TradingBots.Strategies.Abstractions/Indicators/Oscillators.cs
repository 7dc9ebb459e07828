namespace TradingBots.Strategies.Indicators;

/// <summary>
/// Wilder's relative strength index: the first average gain and loss are the means of the first <c>period</c> changes,
/// then each is (previous × (period − 1) + this change's) ÷ period; RSI = 100 × gain ÷ (gain + loss), 50 when both are 0
/// (a flat market: TA-Lib says 0, which would read as oversold). The first value comes with the (period + 1)-th close.
/// </summary>
public sealed class Rsi
{
    private readonly int _period;
    private decimal? _previous;
    private int _changes;
    private decimal _gain, _loss;

    public Rsi(int period)
    {
        Window.Check(period);
        _period = period;
    }

    public decimal? Add(decimal close)
    {
        if (_previous is not { } previous)
        {
            _previous = close;
            return null;
        }
        _previous = close;
        var (gain, loss) = (Math.Max(close - previous, 0), Math.Max(previous - close, 0));
        _changes++;
        if (_changes < _period)
        {
            (_gain, _loss) = (_gain + gain, _loss + loss);
            return null;
        }
        (_gain, _loss) = _changes == _period
            ? ((_gain + gain) / _period, (_loss + loss) / _period)
            : ((_gain * (_period - 1) + gain) / _period, (_loss * (_period - 1) + loss) / _period);
        return Value(_gain, _loss);
    }

    private static decimal Value(decimal gain, decimal loss) => gain + loss == 0 ? 50m : 100m * gain / (gain + loss);

    /// <summary>The batch form: the same recursion over the array.</summary>
    public static decimal?[] Of(IReadOnlyList<decimal> closes, int period)
    {
        Window.Check(period);
        var result = new decimal?[closes.Count];
        if (closes.Count <= period) return result;
        var (gain, loss) = (0m, 0m);
        for (var i = 1; i <= period; i++) (gain, loss) = (gain + Math.Max(closes[i] - closes[i - 1], 0), loss + Math.Max(closes[i - 1] - closes[i], 0));
        (gain, loss) = (gain / period, loss / period);
        result[period] = Value(gain, loss);
        for (var i = period + 1; i < closes.Count; i++)
        {
            (gain, loss) = ((gain * (period - 1) + Math.Max(closes[i] - closes[i - 1], 0)) / period,
                (loss * (period - 1) + Math.Max(closes[i - 1] - closes[i], 0)) / period);
            result[i] = Value(gain, loss);
        }
        return result;
    }
}

/// <summary>MACD's three lines at one close.</summary>
public readonly record struct MacdValue(decimal Macd, decimal Signal, decimal Histogram);

/// <summary>
/// MACD (12, 26, 9 by custom): the fast EMA − the slow EMA (each an <see cref="Ema"/> of the closes, seeded by its own SMA,
/// as StockCharts computes it; TA-Lib starts the fast one later), its signal line an EMA of that difference (seeded by the
/// SMA of its first <c>signal</c> values), and the histogram MACD − signal. Null until the signal has a value.
/// </summary>
public sealed class Macd
{
    private readonly Ema _fast, _slow, _signal;

    public Macd(int fast = 12, int slow = 26, int signal = 9)
    {
        if (fast >= slow) throw new ArgumentOutOfRangeException(nameof(fast), fast, "the fast period is below the slow one");
        (_fast, _slow, _signal) = (new Ema(fast), new Ema(slow), new Ema(signal));
    }

    public MacdValue? Add(decimal close)
    {
        var (fast, slow) = (_fast.Add(close), _slow.Add(close));
        if (fast is not { } f || slow is not { } s) return null;
        var macd = f - s;
        return _signal.Add(macd) is { } signal ? new MacdValue(macd, signal, macd - signal) : null;
    }

    /// <summary>The batch form: the EMAs over the array, then the signal's EMA over the MACD line.</summary>
    public static MacdValue?[] Of(IReadOnlyList<decimal> closes, int fast = 12, int slow = 26, int signal = 9)
    {
        var (f, s) = (Ema.Of(closes, fast), Ema.Of(closes, slow));
        var result = new MacdValue?[closes.Count];
        var start = slow - 1;
        if (closes.Count <= start) return result;
        var line = new decimal[closes.Count - start];
        for (var i = start; i < closes.Count; i++) line[i - start] = f[i]!.Value - s[i]!.Value;
        var signals = Ema.Of(line, signal);
        for (var i = 0; i < line.Length; i++)
            if (signals[i] is { } sig) result[start + i] = new MacdValue(line[i], sig, line[i] - sig);
        return result;
    }
}

/// <summary>The fast stochastic at one candle: %K and, once <c>dPeriod</c> %K values came, %D.</summary>
public readonly record struct StochasticValue(decimal K, decimal? D);

/// <summary>
/// The fast stochastic oscillator: %K = 100 × (close − lowest low) ÷ (highest high − lowest low) over the last
/// <c>kPeriod</c> candles (0 when that range is 0, as TA-Lib), %D the SMA of the last <c>dPeriod</c> %K. Streaming: the
/// highest and lowest are kept in monotonic queues, amortized O(1) per candle; %D sums its few values anew.
/// </summary>
public sealed class Stochastic
{
    private readonly int _kPeriod;
    private readonly Window _d;
    private readonly Extremes _highs = new(highest: true), _lows = new(highest: false);
    private long _index;

    public Stochastic(int kPeriod = 14, int dPeriod = 3)
    {
        Window.Check(kPeriod);
        (_kPeriod, _d) = (kPeriod, new Window(dPeriod));
    }

    public StochasticValue? Add(Candle candle)
    {
        _highs.Add(_index, candle.High, _kPeriod);
        _lows.Add(_index, candle.Low, _kPeriod);
        if (++_index < _kPeriod) return null;
        var k = K(candle.Close, _highs.Value, _lows.Value);
        _d.Add(k);
        if (!_d.Full) return new StochasticValue(k, null);
        // Summed anew, oldest first (dPeriod is small): %K is rounded, and a running sum would drift from the definition's digits.
        var sum = 0m;
        for (var i = 0; i < _d.Period; i++) sum += _d[i];
        return new StochasticValue(k, sum / _d.Period);
    }

    private static decimal K(decimal close, decimal highest, decimal lowest) =>
        highest == lowest ? 0m : 100m * (close - lowest) / (highest - lowest);

    /// <summary>The batch form, from the definition: each window's extremes found anew.</summary>
    public static StochasticValue?[] Of(IReadOnlyList<Candle> candles, int kPeriod = 14, int dPeriod = 3)
    {
        Window.Check(kPeriod);
        var result = new StochasticValue?[candles.Count];
        var ks = new List<decimal>();
        for (var i = kPeriod - 1; i < candles.Count; i++)
        {
            var (highest, lowest) = (decimal.MinValue, decimal.MaxValue);
            for (var j = i - kPeriod + 1; j <= i; j++) (highest, lowest) = (Math.Max(highest, candles[j].High), Math.Min(lowest, candles[j].Low));
            ks.Add(K(candles[i].Close, highest, lowest));
            result[i] = new StochasticValue(ks[^1], ks.Count < dPeriod ? null : ks[^dPeriod..].Sum() / dPeriod);
        }
        return result;
    }

    /// <summary>The highest (or lowest) of the last values: a queue kept monotonic, so its head is the answer.</summary>
    private sealed class Extremes(bool highest)
    {
        private readonly LinkedList<(long Index, decimal Value)> _queue = new();

        public decimal Value => _queue.First!.Value.Value;

        public void Add(long index, decimal value, int period)
        {
            while (_queue.Last is { } last && (highest ? last.Value.Value <= value : last.Value.Value >= value)) _queue.RemoveLast();
            _queue.AddLast((index, value));
            if (_queue.First!.Value.Index <= index - period) _queue.RemoveFirst();
        }
    }
}
