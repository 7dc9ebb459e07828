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

/// <summary>One price level of an order book: its price and the quantity resting there.</summary>
public readonly record struct BookLevel(decimal Price, decimal Qty);

/// <summary>
/// An order book snapshot as GET /api/v3/depth gives it: bids best (highest) first, asks best (lowest) first.
/// </summary>
public sealed record OrderBook(long LastUpdateId, IReadOnlyList<BookLevel> Bids, IReadOnlyList<BookLevel> Asks);

/// <summary>
/// The simulated exchange: every symbol's seeded walk and synthetic order book, plus the prices and books pinned through
/// the control API. Thread-safe: pins are immutable maps swapped under a lock, and every read works on one snapshot.
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
    private ImmutableDictionary<string, PinnedBook> _books = ImmutableDictionary<string, PinnedBook>.Empty;

    /// <summary>Levels a side of a book holds at most: Binance's largest depth limit.</summary>
    public const int MaxBookLevels = 5_000;

    private sealed record PinnedBook(ImmutableArray<BookLevel> Bids, ImmutableArray<BookLevel> Asks);

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
    /// Fixes the symbol's order book (levels as given: the caller checks their order) until it is unpinned: the depth
    /// endpoint serves it and the 24 h ticker quotes its best levels. The price path is not touched.
    /// </summary>
    public void PinBook(SymbolSpec spec, IEnumerable<BookLevel> bids, IEnumerable<BookLevel> asks)
    {
        var book = new PinnedBook([.. bids], [.. asks]);
        lock (_gate) _books = _books.SetItem(spec.Symbol, book);
    }

    /// <summary>Back to the synthetic book around the price; false when the symbol's book was not pinned.</summary>
    public bool UnpinBook(SymbolSpec spec)
    {
        lock (_gate)
        {
            var before = _books;
            _books = _books.Remove(spec.Symbol);
            return _books != before;
        }
    }

    /// <summary>Back to the synthetic book for every symbol.</summary>
    public void ClearBooks()
    {
        lock (_gate) _books = _books.Clear();
    }

    /// <summary>
    /// The symbol's order book now, at most <paramref name="limit"/> levels a side: the pinned book if there is one,
    /// else the synthetic book around the current price (see <see cref="SyntheticLevel"/>). Its lastUpdateId is the
    /// walk's trade id now, so it grows with time.
    /// </summary>
    public OrderBook Book(SymbolSpec spec, int limit)
    {
        var now = NowSecond;
        var path = Path(spec);
        return BookAt(spec, path, path.At(now), now, limit);
    }

    /// <summary>
    /// Level <paramref name="n"/> (1 = best) of the synthetic book around <paramref name="price"/>: n ticks below it
    /// (bids) or above it (asks), holding n times <see cref="SymbolSpec.BookLot"/>. So the best bid and ask are one
    /// tick either side of the price, and a walk through the book can be worked out by hand.
    /// </summary>
    public static BookLevel SyntheticLevel(SymbolSpec spec, decimal price, bool bid, int n) =>
        new(bid ? price - n * spec.TickSize : price + n * spec.TickSize, n * spec.BookLot);

    private OrderBook BookAt(SymbolSpec spec, PricePath path, decimal price, long now, int limit)
    {
        limit = Math.Clamp(limit, 0, MaxBookLevels);
        var id = path.Walk.TradeId(now);
        if (Volatile.Read(ref _books).GetValueOrDefault(spec.Symbol) is { } pinned)
            return new OrderBook(id, [.. pinned.Bids.Take(limit)], [.. pinned.Asks.Take(limit)]);

        var bids = new List<BookLevel>(limit);
        var asks = new List<BookLevel>(limit);
        for (var n = 1; n <= limit; n++)
        {
            // No bid at or below zero: a cheap symbol's book is thinner on the bid side.
            if (SyntheticLevel(spec, price, bid: true, n) is { Price: > 0 } level) bids.Add(level);
            asks.Add(SyntheticLevel(spec, price, bid: false, n));
        }
        return new OrderBook(id, bids, asks);
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

    /// <summary>
    /// The rolling 24 h window ending now, computed from its 1440 one-minute candles; bid and ask are the best levels
    /// of <see cref="Book"/>.
    /// </summary>
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
        // The book's best levels; an empty side quotes zero.
        var top = BookAt(spec, path, last, now, 1);
        var (bid, ask) = (top.Bids.FirstOrDefault(), top.Asks.FirstOrDefault());
        return new Ticker24h(
            spec,
            PriceChange: change,
            PriceChangePercent: Math.Round(change / open * 100, 3),
            WeightedAvgPrice: volume == 0 ? last : Math.Round(quoteVolume / volume, 8),
            PrevClosePrice: path.At(start - 1),
            LastPrice: last,
            LastQty: RecentQuantity(path.Walk, now, 1),
            BidPrice: bid.Price,
            BidQty: bid.Qty,
            AskPrice: ask.Price,
            AskQty: ask.Qty,
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

    /// <summary>A plausible trade size: what traded in the last few seconds, at least one lot.</summary>
    private static decimal RecentQuantity(PriceWalk walk, long now, int seconds) =>
        Math.Max(walk.Spec.StepSize, walk.Spec.RoundToStep((decimal)walk.Volume(now - seconds, now) / PriceWalk.VolumeUnits));

    private static long FloorDiv(long a, long b) => Math.DivRem(a, b, out var rem) - (rem < 0 ? 1 : 0);
}
