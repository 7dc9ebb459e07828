using System.Collections.Immutable;
using Microsoft.Extensions.Options;

namespace TradingBots.ExchangeSim;

/// <summary>Binance's 24 h rolling-window statistics of one symbol; times in Unix milliseconds.</summary>
public sealed record Ticker24h(
    SymbolSpec Spec,
    decimal PriceChange,
    decimal PriceChangePercent,
    decimal WeightedAvgPrice,
    decimal PrevClosePrice,
    decimal LastPrice,
    decimal LastQty,
    decimal BidPrice,
    decimal BidQty,
    decimal AskPrice,
    decimal AskQty,
    decimal OpenPrice,
    decimal HighPrice,
    decimal LowPrice,
    decimal Volume,
    decimal QuoteVolume,
    long OpenTime,
    long CloseTime,
    long FirstId,
    long LastId,
    long Count);

/// <summary>
/// The simulated exchange: every symbol's seeded walk plus the pins set through the control API.
/// Thread-safe: pins are an immutable map swapped under a lock, and every read works on one snapshot.
/// </summary>
public sealed class MarketSimulator
{
    /// <summary>History starts here (0002-01-01): calendar arithmetic needs a year, and nobody asks for older.</summary>
    public static readonly long EarliestSecond = new DateTimeOffset(2, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

    private const long Day = 86_400;

    private readonly TimeProvider _time;
    private readonly Dictionary<string, PriceWalk> _walks;
    private readonly Lock _gate = new();
    private ImmutableDictionary<string, ImmutableArray<Pin>> _pins = ImmutableDictionary<string, ImmutableArray<Pin>>.Empty;

    public MarketSimulator(IOptions<ExchangeSimOptions> options, TimeProvider time)
    {
        _time = time;
        _walks = SymbolCatalog.All.ToDictionary(s => s.Symbol, s => new PriceWalk(options.Value.Seed, s));
    }

    /// <summary>The current second: prices change once a second.</summary>
    public long NowSecond => _time.GetUtcNow().ToUnixTimeSeconds();

    public decimal CurrentPrice(SymbolSpec spec) => Path(spec).At(NowSecond);

    /// <summary>Fixes the symbol's price from the current second on; returns the price as stored (8 decimals).</summary>
    public decimal Pin(SymbolSpec spec, decimal price)
    {
        var pin = new Pin(NowSecond, Math.Round(price, 8));
        lock (_gate)
        {
            var pins = _pins.GetValueOrDefault(spec.Symbol, []);
            // A second pin within the same second replaces the first.
            _pins = _pins.SetItem(spec.Symbol, [.. pins.Where(p => p.Second < pin.Second), pin]);
        }
        return pin.Price;
    }

    /// <summary>Back to the seeded walk for every symbol.</summary>
    public void ClearPins()
    {
        lock (_gate) _pins = _pins.Clear();
    }

    /// <summary>
    /// Binance's klines query: the <paramref name="limit"/> candles opening in [startTime, endTime] (ms), the earliest
    /// first when a start is given, else the latest; never a candle opening after now.
    /// </summary>
    public IReadOnlyList<Candle> Klines(SymbolSpec spec, KlineInterval interval, long? startTime, long? endTime, int limit)
    {
        var now = NowSecond;
        var end = endTime is { } e ? Math.Min(now, FloorDiv(e, 1000)) : now;
        if (end < EarliestSecond || limit < 1) return [];
        var lastOpen = interval.Floor(end);

        var opens = new List<long>(limit);
        if (startTime is { } s)
        {
            // Candles open on whole seconds: the first one opening at or after startTime.
            var from = -FloorDiv(-Math.Clamp(s, EarliestSecond * 1000, (now + 1) * 1000), 1000);
            var open = interval.Floor(from);
            if (open < from) open = interval.Next(open);
            for (; open <= lastOpen && opens.Count < limit; open = interval.Next(open)) opens.Add(open);
        }
        else
        {
            for (var open = lastOpen; open >= EarliestSecond && opens.Count < limit; open = interval.Previous(open)) opens.Add(open);
            opens.Reverse();
        }
        if (opens.Count == 0) return [];

        opens.Add(interval.Next(opens[^1]));
        return Path(spec).Candles(opens.ToArray(), now);
    }

    /// <summary>The rolling 24 h window ending now, computed from its 1440 one-minute candles.</summary>
    public Ticker24h Ticker(SymbolSpec spec)
    {
        var now = NowSecond;
        var start = now - Day;
        var path = Path(spec);
        var bounds = new long[1_441];
        for (var i = 0; i < bounds.Length; i++) bounds[i] = start + 60L * i;
        var minutes = path.Candles(bounds, now);

        var (open, last) = (minutes[0].Open, minutes[^1].Close);
        var volume = minutes.Sum(c => c.Volume);
        var quoteVolume = minutes.Sum(c => c.QuoteVolume);
        var (firstId, nextId) = (path.Walk.TradeId(start), path.Walk.TradeId(now));
        var change = last - open;
        return new Ticker24h(
            spec,
            PriceChange: change,
            PriceChangePercent: Math.Round(change / open * 100, 3),
            WeightedAvgPrice: volume == 0 ? last : Math.Round(quoteVolume / volume, 8),
            PrevClosePrice: path.At(start - 1),
            LastPrice: last,
            LastQty: RecentQuantity(path.Walk, now, 1),
            BidPrice: last - spec.TickSize,
            BidQty: RecentQuantity(path.Walk, now, 5),
            AskPrice: last + spec.TickSize,
            AskQty: RecentQuantity(path.Walk, now, 3),
            OpenPrice: open,
            HighPrice: minutes.Max(c => c.High),
            LowPrice: minutes.Min(c => c.Low),
            Volume: volume,
            QuoteVolume: quoteVolume,
            OpenTime: start * 1000,
            CloseTime: _time.GetUtcNow().ToUnixTimeMilliseconds(),
            FirstId: firstId,
            LastId: nextId - 1,
            Count: nextId - firstId);
    }

    private PricePath Path(SymbolSpec spec) => new(_walks[spec.Symbol], Volatile.Read(ref _pins).GetValueOrDefault(spec.Symbol, []));

    /// <summary>A plausible book or trade size: what traded in the last few seconds, at least one lot.</summary>
    private static decimal RecentQuantity(PriceWalk walk, long now, int seconds) =>
        Math.Max(walk.Spec.StepSize, walk.Spec.RoundToStep((decimal)walk.Volume(now - seconds, now) / PriceWalk.VolumeUnits));

    private static long FloorDiv(long a, long b) => Math.DivRem(a, b, out var rem) - (rem < 0 ? 1 : 0);
}
