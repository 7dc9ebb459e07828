namespace TradingBots.ExchangeSim;

/// <summary>
/// The deterministic market of one symbol, a pure function of (seed, symbol, second): no state, no history kept.
/// <para>
/// Price: time is cut into blocks of 2^22 s (~48.5 days). Each block boundary gets a random anchor within ±10 % of the
/// base price; inside a block the path is a Brownian bridge between its two anchors, built by midpoint displacement
/// down to a 1-second grid. The displacement of a node's midpoint is drawn from a hash of (seed, symbol, midpoint
/// second), so the price at any second is found in 22 steps and a run of n aligned seconds in O(n), without walking
/// from a start. The path is kept in integers: parts-per-billion of the base price.
/// </para>
/// <para>
/// Volume: a multiplicative cascade over the same blocks: every block trades the same amount, every node splits its
/// volume 30–70 % between its halves. Any interval's volume is exact in O(log) and sub-intervals always add up.
/// </para>
/// </summary>
public sealed class PriceWalk
{
    public const int BlockLevels = 22;
    public const long BlockSeconds = 1L << BlockLevels;

    /// <summary>Deviations are in parts per billion of the base price.</summary>
    public const long Ppb = 1_000_000_000;

    /// <summary>Volumes are in units of 1e-8 of the base asset (Binance's 8 decimals).</summary>
    public const long VolumeUnits = 100_000_000;

    private const decimal PerPpb = 0.000000001m;
    private const long AnchorAmplitude = Ppb / 10;
    private const decimal SqrtSecondsPerDay = 293.93876913398137m;
    private const decimal HalfSqrt3 = 0.86602540378443865m;
    private const decimal HalfSqrt6 = 1.22474487139158905m;

    private readonly ulong _priceKey;
    private readonly ulong _anchorKey;
    private readonly ulong _volumeKey;
    private readonly long[] _amplitude = new long[BlockLevels + 1];
    private readonly long _blockVolume;
    private readonly long _tradeSize;

    public PriceWalk(int seed, SymbolSpec spec)
    {
        Spec = spec;
        var key = Mix((ulong)(uint)seed);
        foreach (var c in spec.Symbol) key = Mix(key ^ c);
        _priceKey = Mix(key ^ 1);
        _anchorKey = Mix(key ^ 2);
        _volumeKey = Mix(key ^ 3);

        // A bridge midpoint over 2^k seconds has standard deviation sigma * sqrt(2^k) / 2; a uniform draw of
        // half-width sqrt(3) times that has the same variance. Odd levels carry the extra sqrt(2).
        var sigma = spec.DailyVolatility / SqrtSecondsPerDay * Ppb;
        var even = (long)(sigma * HalfSqrt3);
        var odd = (long)(sigma * HalfSqrt6);
        for (var k = 1; k <= BlockLevels; k++) _amplitude[k] = k % 2 == 0 ? even << (k / 2) : odd << ((k - 1) / 2);

        // Every displacement on the way down is bounded, so this bounds the path: the price can never reach zero.
        MaxDeviation = AnchorAmplitude + _amplitude.Sum();
        if (MaxDeviation >= Ppb * 9 / 10)
            throw new ArgumentException($"{spec.Symbol}: volatility {spec.DailyVolatility} is too high for the bounded walk.", nameof(spec));

        _blockVolume = (long)(spec.DailyVolume * VolumeUnits / 86_400 * BlockSeconds);
        _tradeSize = (long)(spec.TradeSize * VolumeUnits);
    }

    public SymbolSpec Spec { get; }

    /// <summary>The largest |deviation| the path can reach, in ppb.</summary>
    public long MaxDeviation { get; }

    /// <summary>The walk's price at a deviation, on the symbol's tick grid.</summary>
    public decimal PriceOf(long deviation) => Spec.RoundToTick(Spec.BasePrice * (Ppb + deviation) * PerPpb);

    /// <summary>The walk's price at a second (Unix time).</summary>
    public decimal PriceAt(long second) => PriceOf(Deviation(second));

    /// <summary>The path's deviation from the base price at a second, in ppb.</summary>
    public long Deviation(long second)
    {
        var block = FloorDiv(second, BlockSeconds);
        var lo = block * BlockSeconds;
        var (vLo, vHi) = (Anchor(block), Anchor(block + 1));
        for (var level = BlockLevels; second != lo; level--)
        {
            var mid = lo + (1L << (level - 1));
            var vMid = Midpoint(mid, level, vLo, vHi);
            if (second < mid) vHi = vMid;
            else (lo, vLo) = (mid, vMid);
        }
        return vLo;
    }

    /// <summary>
    /// Deviations at <paramref name="from"/>, from + 2^strideLevel, ... (one per element of <paramref name="into"/>),
    /// in one pass down the tree. <paramref name="from"/> must be a multiple of the stride.
    /// </summary>
    public void Deviations(long from, int strideLevel, Span<long> into)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(strideLevel, BlockLevels);
        var stride = 1L << strideLevel;
        if (from % stride != 0) throw new ArgumentException("from must be a multiple of the stride.", nameof(from));
        if (into.IsEmpty) return;
        var last = from + (into.Length - 1) * stride;
        for (var block = FloorDiv(from, BlockSeconds); block <= FloorDiv(last, BlockSeconds); block++)
            Fill(block * BlockSeconds, BlockLevels, Anchor(block), Anchor(block + 1), strideLevel, from, last, into);
    }

    /// <summary>Base volume traded in [from, to) seconds, in 1e-8 units.</summary>
    public long Volume(long from, long to) => (long)(TradedBefore(to) - TradedBefore(from));

    /// <summary>
    /// Base volume traded from 1970 up to a second, in 1e-8 units (negative before 1970). Differences of it are
    /// interval volumes, and it numbers the trades: the trade ids below a second are TradedBefore / trade size.
    /// </summary>
    public Int128 TradedBefore(long second)
    {
        var block = FloorDiv(second, BlockSeconds);
        var start = block * BlockSeconds;
        return (Int128)block * _blockVolume + VolumeIn(start, BlockLevels, _blockVolume, start, second);
    }

    /// <summary>Id of the first trade at or after a second: ids only grow, and an interval's trades are the difference.</summary>
    public long TradeId(long second) => TradeIdAt(TradedBefore(second));

    public long TradeIdAt(Int128 tradedBefore) => (long)(tradedBefore / _tradeSize);

    private void Fill(long lo, int level, long vLo, long vHi, int strideLevel, long from, long last, Span<long> into)
    {
        // This node emits the points lo, lo + stride, ... below lo + 2^level.
        var hi = lo + (1L << level);
        if (hi <= from || lo > last) return;
        if (level == strideLevel)
        {
            into[(int)((lo - from) >> strideLevel)] = vLo;
            return;
        }
        var mid = lo + (1L << (level - 1));
        var vMid = Midpoint(mid, level, vLo, vHi);
        Fill(lo, level - 1, vLo, vMid, strideLevel, from, last, into);
        Fill(mid, level - 1, vMid, vHi, strideLevel, from, last, into);
    }

    /// <summary>Volume of the node [lo, lo + 2^level) falling in [from, to).</summary>
    private long VolumeIn(long lo, int level, long volume, long from, long to)
    {
        var hi = lo + (1L << level);
        if (to <= lo || hi <= from) return 0;
        if (from <= lo && hi <= to) return volume;
        var mid = lo + (1L << (level - 1));
        // The left half takes 30-70 % (in 1/65536ths); the right half the rest, so nothing is lost to rounding.
        var share = 19_661 + (long)(Hash(_volumeKey, mid) % 26_215);
        var left = (long)(((Int128)volume * share) >> 16);
        return VolumeIn(lo, level - 1, left, from, to) + VolumeIn(mid, level - 1, volume - left, from, to);
    }

    private long Midpoint(long mid, int level, long vLo, long vHi) =>
        (vLo + vHi) / 2 + Uniform(Hash(_priceKey, mid), _amplitude[level]);

    private long Anchor(long block) => Uniform(Hash(_anchorKey, block), AnchorAmplitude);

    private static long Uniform(ulong hash, long halfWidth) => (long)(hash % (ulong)(2 * halfWidth + 1)) - halfWidth;

    private static long FloorDiv(long a, long b) => Math.DivRem(a, b, out var rem) - (rem < 0 ? 1 : 0);

    private static ulong Hash(ulong key, long index) => Mix(key ^ Mix((ulong)index));

    /// <summary>A 64-bit finalizer (xor-shift / multiply rounds): every input bit moves every output bit.</summary>
    private static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
