using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TradingBots.ExchangeSim;

namespace TradingBots.UnitTests;

public sealed class ExchangeSimTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 18, 12, 34, 56, 789, TimeSpan.Zero);
    private static readonly SymbolSpec Btc = SymbolCatalog.Find("BTCUSDT")!;
    private static readonly SymbolSpec Eth = SymbolCatalog.Find("ETHUSDT")!;

    public static TheoryData<string> Symbols => [.. SymbolCatalog.All.Select(s => s.Symbol)];

    public static TheoryData<string> Intervals => [.. KlineInterval.All.Select(i => i.Name)];

    [Fact]
    public void Catalog_has_the_spec_symbols_at_realistic_levels()
    {
        Assert.Equal(["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ETHBTC"], SymbolCatalog.All.Select(s => s.Symbol));
        Assert.Equal(100_000m, Btc.BasePrice);
        Assert.Equal(3_500m, Eth.BasePrice);
        Assert.Equal(150m, SymbolCatalog.Find("SOLUSDT")!.BasePrice);
        Assert.Equal(600m, SymbolCatalog.Find("BNBUSDT")!.BasePrice);
        Assert.Null(SymbolCatalog.Find("btcusdt"));
    }

    [Theory]
    [MemberData(nameof(Symbols))]
    public void Same_seed_gives_the_same_path_and_another_seed_another(string symbol)
    {
        var spec = SymbolCatalog.Find(symbol)!;
        var (a, b, other) = (new PriceWalk(42, spec), new PriceWalk(42, spec), new PriceWalk(43, spec));
        var seconds = Enumerable.Range(0, 200).Select(i => Start.ToUnixTimeSeconds() - i * 7_919L).ToArray();

        Assert.Equal(seconds.Select(a.PriceAt), seconds.Select(b.PriceAt));
        Assert.Equal(seconds.Select(a.Volume1s), seconds.Select(b.Volume1s));
        Assert.NotEqual(seconds.Select(a.PriceAt), seconds.Select(other.PriceAt));
    }

    [Fact]
    public void Symbols_walk_independently()
    {
        var (btc, eth) = (new PriceWalk(42, Btc), new PriceWalk(42, Eth));
        var seconds = Enumerable.Range(0, 100).Select(i => Start.ToUnixTimeSeconds() - i * 3_600L).ToArray();
        Assert.NotEqual(seconds.Select(s => btc.Deviation(s)), seconds.Select(s => eth.Deviation(s)));
    }

    [Fact]
    public void Simulator_prices_depend_only_on_seed_and_time()
    {
        var (a, b) = (Simulator(42, out var timeA), Simulator(42, out var timeB));
        Assert.Equal(a.CurrentPrice(Btc), b.CurrentPrice(Btc));
        timeA.Advance(TimeSpan.FromHours(5));
        timeB.Advance(TimeSpan.FromHours(5));

        Assert.Equal(new PriceWalk(42, Btc).PriceAt(Start.AddHours(5).ToUnixTimeSeconds()), a.CurrentPrice(Btc));
        Assert.Equal(a.CurrentPrice(Btc), b.CurrentPrice(Btc));
        Assert.NotEqual(Simulator(7, out _).CurrentPrice(Btc), Simulator(42, out _).CurrentPrice(Btc));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(6)]
    public void A_run_of_aligned_seconds_matches_the_single_second_lookup(int strideLevel)
    {
        var walk = new PriceWalk(42, Btc);
        var stride = 1L << strideLevel;
        // Across a block boundary and before 1970, where the arithmetic must floor.
        foreach (var around in new[] { 5 * PriceWalk.BlockSeconds, -3 * PriceWalk.BlockSeconds, Start.ToUnixTimeSeconds() })
        {
            var from = (around - 300 * stride) / stride * stride;
            var run = new long[600];
            walk.Deviations(from, strideLevel, run);
            Assert.Equal(run, Enumerable.Range(0, run.Length).Select(i => walk.Deviation(from + i * stride)));
        }
    }

    [Theory]
    [MemberData(nameof(Symbols))]
    public void The_walk_stays_near_its_base_and_moves_a_little_each_second(string symbol)
    {
        var spec = SymbolCatalog.Find(symbol)!;
        var walk = new PriceWalk(42, spec);
        Assert.True(walk.MaxDeviation < PriceWalk.Ppb * 9 / 10);

        var run = new long[100_000];
        walk.Deviations(Start.ToUnixTimeSeconds() - run.Length, 0, run);
        Assert.All(run, d => Assert.InRange(d, -walk.MaxDeviation, walk.MaxDeviation));
        // Per-second steps are small (well under 0.2 %) but the path does move.
        var steps = run.Zip(run.Skip(1), (x, y) => Math.Abs(y - x)).ToArray();
        Assert.True(steps.Max() < PriceWalk.Ppb / 500, $"largest step {steps.Max()} ppb");
        Assert.True(steps.Count(s => s != 0) > steps.Length / 2);
        Assert.InRange(walk.PriceAt(Start.ToUnixTimeSeconds()), spec.BasePrice * 0.5m, spec.BasePrice * 1.5m);
    }

    [Fact]
    public void Volumes_add_up_over_any_split_and_every_block_trades_the_same()
    {
        var walk = new PriceWalk(42, Btc);
        var (a, b, c) = (Start.ToUnixTimeSeconds() - 100_003, Start.ToUnixTimeSeconds() - 77, Start.ToUnixTimeSeconds());
        Assert.Equal(walk.Volume(a, c), walk.Volume(a, b) + walk.Volume(b, c));
        Assert.True(walk.Volume(b, c) > 0);
        Assert.Equal(walk.Volume(0, PriceWalk.BlockSeconds), walk.Volume(7 * PriceWalk.BlockSeconds, 8 * PriceWalk.BlockSeconds));
        // Daily volume is of the configured order.
        var day = (decimal)walk.Volume(c - 86_400, c) / PriceWalk.VolumeUnits;
        Assert.InRange(day, Btc.DailyVolume / 4, Btc.DailyVolume * 4);
        Assert.True(walk.TradeId(c) > walk.TradeId(a));
    }

    [Theory]
    [MemberData(nameof(Intervals))]
    public void Klines_are_consistent_candles_ending_at_the_current_price(string name)
    {
        var sim = Simulator(42, out _);
        var interval = KlineInterval.Find(name)!;
        var candles = sim.Klines(Btc, interval, null, null, 1000);

        Assert.Equal(1000, candles.Count);
        AssertConsistent(candles);
        Assert.Equal(sim.CurrentPrice(Btc), candles[^1].Close);
        // The newest candle is the one still open.
        Assert.InRange(Start.ToUnixTimeMilliseconds(), candles[^1].OpenTime, candles[^1].CloseTime);
        Assert.Equal(interval.Floor(Start.ToUnixTimeSeconds()) * 1000, candles[^1].OpenTime);
    }

    [Fact]
    public void Weeks_open_on_monday_and_months_on_the_first()
    {
        var sim = Simulator(42, out _);
        Assert.All(sim.Klines(Btc, KlineInterval.Find("1w")!, null, null, 50),
            c => Assert.Equal(DayOfWeek.Monday, DateTimeOffset.FromUnixTimeMilliseconds(c.OpenTime).DayOfWeek));
        var months = sim.Klines(Btc, KlineInterval.Find("1M")!, null, null, 14);
        Assert.All(months, c => Assert.Equal(1, DateTimeOffset.FromUnixTimeMilliseconds(c.OpenTime).Day));
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), months[^1].OpenTime);
        Assert.Equal(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() - 1, months[^1].CloseTime);
    }

    [Fact]
    public void Klines_honour_start_end_and_limit_like_binance()
    {
        var sim = Simulator(42, out _);
        var hour = KlineInterval.Find("1h")!;
        var start = Start.AddDays(-2).ToUnixTimeMilliseconds();

        var fromStart = sim.Klines(Btc, hour, start, null, 5);
        Assert.Equal(5, fromStart.Count);
        Assert.True(fromStart[0].OpenTime >= start && fromStart[0].OpenTime - start < 3_600_000);

        var window = sim.Klines(Btc, hour, start, start + 10 * 3_600_000L, 1000);
        Assert.Equal(10, window.Count);
        Assert.Equal(fromStart, window.Take(5));

        var untilEnd = sim.Klines(Btc, hour, null, start, 3);
        Assert.Equal(3, untilEnd.Count);
        Assert.True(untilEnd[^1].OpenTime <= start);

        Assert.Empty(sim.Klines(Btc, hour, Start.AddHours(2).ToUnixTimeMilliseconds(), null, 10));
        // The default window is the latest candles: the same candles as asked for by time.
        var latest = sim.Klines(Btc, hour, null, null, 500);
        Assert.Equal(latest.TakeLast(3), sim.Klines(Btc, hour, latest[^3].OpenTime, null, 500));
    }

    [Fact]
    public void History_is_stable_as_time_passes()
    {
        var sim = Simulator(42, out var time);
        var minute = KlineInterval.Find("1m")!;
        var before = sim.Klines(Btc, minute, null, null, 100);
        time.Advance(TimeSpan.FromMinutes(10));
        var after = sim.Klines(Btc, minute, before[0].OpenTime, null, 100);

        // Every candle that had closed is unchanged; the one that was open has closed on the walk.
        Assert.Equal(before.SkipLast(1), after.Take(99));
        Assert.Equal(before[^1].Open, after[99].Open);
        Assert.Equal(new PriceWalk(42, Btc).PriceAt((after[99].CloseTime + 1) / 1000), after[99].Close);
    }

    [Fact]
    public void Ticker_summarises_the_last_24_hours()
    {
        var sim = Simulator(42, out _);
        var walk = new PriceWalk(42, Btc);
        var now = Start.ToUnixTimeSeconds();
        var t = sim.Ticker(Btc);

        Assert.Equal(walk.PriceAt(now), t.LastPrice);
        Assert.Equal(walk.PriceAt(now - 86_400), t.OpenPrice);
        Assert.Equal(t.LastPrice - t.OpenPrice, t.PriceChange);
        Assert.Equal(Math.Round(t.PriceChange / t.OpenPrice * 100, 3), t.PriceChangePercent);
        Assert.Equal(t.LastPrice - Btc.TickSize, t.BidPrice);
        Assert.Equal(t.LastPrice + Btc.TickSize, t.AskPrice);
        Assert.True(t.HighPrice >= Math.Max(t.OpenPrice, t.LastPrice));
        Assert.True(t.LowPrice <= Math.Min(t.OpenPrice, t.LastPrice));
        Assert.InRange(t.WeightedAvgPrice, t.LowPrice, t.HighPrice);
        Assert.Equal((decimal)walk.Volume(now - 86_400, now) / PriceWalk.VolumeUnits, t.Volume);
        Assert.Equal(t.LastId - t.FirstId + 1, t.Count);
        Assert.Equal((now - 86_400) * 1000, t.OpenTime);
        Assert.Equal(Start.ToUnixTimeMilliseconds(), t.CloseTime);

        // No minute inside the window went above its high or below its low.
        var minute = KlineInterval.Find("1m")!;
        var minutes = sim.Klines(Btc, minute, t.OpenTime, null, 1000).ToList();
        minutes.AddRange(sim.Klines(Btc, minute, minutes[^1].CloseTime + 1, null, 1000));
        var inside = minutes.Where(c => c.CloseTime < t.CloseTime).ToList();
        Assert.Equal(1439, inside.Count);
        Assert.True(t.HighPrice >= inside.Max(c => c.High));
        Assert.True(t.LowPrice <= inside.Min(c => c.Low));
    }

    [Fact]
    public void A_pin_fixes_the_price_from_now_on_and_keeps_the_history_before_it()
    {
        var sim = Simulator(42, out var time);
        var minute = KlineInterval.Find("1m")!;
        var before = sim.Klines(Btc, minute, null, null, 10);

        Assert.Equal(100_000m, sim.Pin(Btc, 100_000m));
        AssertPinned(sim, 100_000m);
        var pinned = sim.Klines(Btc, minute, null, null, 10);
        Assert.Equal(before.SkipLast(1), pinned.SkipLast(1));
        Assert.Equal(before[^1].Open, pinned[^1].Open);

        time.Advance(TimeSpan.FromMinutes(30));
        AssertPinned(sim, 100_000m);
        var later = sim.Klines(Btc, minute, null, null, 40);
        AssertConsistent(later);
        Assert.All(later.TakeLast(29), c => Assert.Equal((100_000m, 100_000m, 100_000m, 100_000m), (c.Open, c.High, c.Low, c.Close)));

        // Another pin takes over; the first one's stretch stays in the history.
        sim.Pin(Btc, 95_000.5m);
        AssertPinned(sim, 95_000.5m);
        Assert.Equal(100_000m, sim.Klines(Btc, minute, null, null, 2)[0].Close);

        // Other symbols keep walking.
        Assert.Equal(new PriceWalk(42, Eth).PriceAt(time.GetUtcNow().ToUnixTimeSeconds()), sim.CurrentPrice(Eth));

        sim.ClearPins();
        Assert.Equal(new PriceWalk(42, Btc).PriceAt(time.GetUtcNow().ToUnixTimeSeconds()), sim.CurrentPrice(Btc));
        Assert.Equal(before.SkipLast(1), sim.Klines(Btc, minute, before[0].OpenTime, null, 9));
    }

    [Fact]
    public void A_pin_within_the_same_second_replaces_the_previous_one()
    {
        var sim = Simulator(42, out _);
        sim.Pin(Btc, 1m);
        sim.Pin(Btc, 2m);
        var candle = sim.Klines(Btc, KlineInterval.Find("1s")!, null, null, 1)[0];
        Assert.Equal((2m, 2m, 2m), (candle.High, candle.Low, candle.Close));
    }

    [Theory]
    [InlineData(null, null, 6, false)]
    [InlineData("ETHBTC", null, 1, true)]
    [InlineData(null, """["BTCUSDT","ETHUSDT"]""", 2, false)]
    [InlineData(null, """[ "BTCUSDT" , "SOLUSDT" ]""", 2, false)]
    [InlineData(null, "[]", 0, false)]
    public void Symbol_parameters_resolve_as_on_binance(string? symbol, string? symbols, int count, bool single)
    {
        Assert.True(SymbolQuery.TryResolve(symbol, symbols, out var selection, out _));
        Assert.Equal((count, single), (selection.Symbols.Count, selection.Single));
    }

    [Theory]
    [InlineData("FOO", null, -1121)]
    [InlineData("btcusdt", null, -1100)]
    [InlineData(null, "BTCUSDT", -1100)]
    [InlineData(null, """["BTCUSDT",""", -1100)]
    [InlineData(null, """["btcusdt"]""", -1100)]
    [InlineData(null, """[1]""", -1100)]
    [InlineData(null, """["BTCUSDT","FOO"]""", -1121)]
    [InlineData(null, """["BTCUSDT","BTCUSDT"]""", -1101)]
    [InlineData("BTCUSDT", """["BTCUSDT"]""", -1128)]
    public void Bad_symbol_parameters_give_binance_errors(string? symbol, string? symbols, int code)
    {
        Assert.False(SymbolQuery.TryResolve(symbol, symbols, out _, out var error));
        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void Faults_meet_requests_naming_a_faulted_symbol_or_none()
    {
        var faults = new FaultBoard();
        faults.Set(FaultMode.RateLimit429, [SymbolCatalog.Find("XRPUSDT")!]);

        Assert.Equal(FaultMode.RateLimit429, faults.For(["XRPUSDT"]).Mode);
        Assert.Equal(FaultMode.RateLimit429, faults.For(["BTCUSDT", "XRPUSDT"]).Mode);
        Assert.Equal(FaultMode.RateLimit429, faults.For(null).Mode);
        Assert.Equal(FaultMode.None, faults.For(["BTCUSDT"]).Mode);

        faults.Set(FaultMode.Error500, SymbolCatalog.All);
        Assert.Equal(FaultMode.Error500, faults.For(["BTCUSDT"]).Mode);
        faults.Set(FaultMode.None, [Btc]);
        Assert.Equal(FaultMode.None, faults.For(["BTCUSDT"]).Mode);
        faults.Clear();
        Assert.Equal(FaultMode.None, faults.For(null).Mode);
        Assert.Empty(faults.Active);
    }

    [Fact]
    public void Usage_counts_requests_per_path_and_weight_per_minute()
    {
        var time = new FakeTimeProvider(Start);
        var usage = new UsageMeter(time);
        Assert.Equal(2, usage.Record("/api/v3/klines", 2));
        Assert.Equal(82, usage.Record("/api/v3/ticker/24hr", 80));
        Assert.Equal(84, usage.Record("/api/v3/klines", 2));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, usage.Record("/api/v3/ping", 1));
        Assert.Equal(new Dictionary<string, long> { ["/api/v3/klines"] = 2, ["/api/v3/ping"] = 1, ["/api/v3/ticker/24hr"] = 1 },
            usage.Requests);

        usage.Clear();
        Assert.Empty(usage.Requests);
        Assert.Equal(20, usage.Record("/api/v3/exchangeInfo", 20));
    }

    [Fact]
    public async Task Concurrent_pins_and_reads_stay_consistent()
    {
        var sim = Simulator(42, out _);
        var cancel = TestContext.Current.CancellationToken;
        var writers = Enumerable.Range(1, 4).Select(i => Task.Run(() =>
        {
            for (var n = 0; n < 200; n++) sim.Pin(Btc, 1_000m * i + n);
        }, cancel));
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var n = 0; n < 50; n++) AssertConsistent(sim.Klines(Btc, KlineInterval.Find("1m")!, null, null, 20));
        }, cancel));
        await Task.WhenAll(writers.Concat(readers));
        Assert.Equal(sim.CurrentPrice(Btc), sim.Klines(Btc, KlineInterval.Find("1m")!, null, null, 1)[0].Close);
    }

    [Theory]
    [MemberData(nameof(Symbols))]
    public void The_synthetic_book_is_one_tick_and_one_lot_a_level_and_the_ticker_quotes_its_top(string symbol)
    {
        var sim = Simulator(42, out _);
        var spec = SymbolCatalog.Find(symbol)!;
        var price = sim.CurrentPrice(spec);

        var book = sim.Book(spec, 50);
        var ticker = sim.Ticker(spec);

        Assert.Equal(new PriceWalk(42, spec).TradeId(Start.ToUnixTimeSeconds()), book.LastUpdateId);
        Assert.Equal(Enumerable.Range(1, 50).Select(n => new BookLevel(price - n * spec.TickSize, n * spec.BookLot)), book.Bids);
        Assert.Equal(Enumerable.Range(1, 50).Select(n => new BookLevel(price + n * spec.TickSize, n * spec.BookLot)), book.Asks);
        Assert.All(book.Bids.Concat(book.Asks), l => Assert.Equal(0m, l.Qty % spec.StepSize));
        Assert.Equal((book.Bids[0].Price, book.Bids[0].Qty, book.Asks[0].Price, book.Asks[0].Qty),
            (ticker.BidPrice, ticker.BidQty, ticker.AskPrice, ticker.AskQty));
    }

    [Fact]
    public void The_bid_side_of_a_cheap_symbols_book_stops_above_zero()
    {
        var sim = Simulator(42, out _);
        var ethBtc = SymbolCatalog.Find("ETHBTC")!;
        sim.Pin(ethBtc, 0.0001m);

        var book = sim.Book(ethBtc, MarketSimulator.MaxBookLevels + 1);

        Assert.Equal(0.00001m, book.Bids[^1].Price);
        Assert.Equal(9, book.Bids.Count);
        Assert.Equal(MarketSimulator.MaxBookLevels, book.Asks.Count);
    }

    [Fact]
    public void A_pinned_book_is_served_truncated_and_quoted_by_the_ticker_until_unpinned()
    {
        var sim = Simulator(42, out var time);
        sim.PinBook(Btc, [new(99_000m, 0.5m), new(98_000m, 2m)], [new(101_000m, 0.25m)]);
        time.Advance(TimeSpan.FromMinutes(5));

        var book = sim.Book(Btc, 1);
        var ticker = sim.Ticker(Btc);

        Assert.Equal([new BookLevel(99_000m, 0.5m)], book.Bids);
        Assert.Equal([new BookLevel(101_000m, 0.25m)], book.Asks);
        Assert.Equal((99_000m, 0.5m, 101_000m, 0.25m), (ticker.BidPrice, ticker.BidQty, ticker.AskPrice, ticker.AskQty));
        // The price path is not the book's: the last price keeps walking.
        Assert.Equal(new PriceWalk(42, Btc).PriceAt(time.GetUtcNow().ToUnixTimeSeconds()), ticker.LastPrice);
        Assert.Equal(book.Bids, sim.Book(Btc, 5).Bids.Take(1));
        Assert.Equal(2, sim.Book(Btc, 5).Bids.Count);
        // Other symbols keep their synthetic books.
        Assert.Equal(sim.CurrentPrice(Eth) - Eth.TickSize, sim.Book(Eth, 1).Bids[0].Price);

        Assert.True(sim.UnpinBook(Btc));
        Assert.False(sim.UnpinBook(Btc));
        Assert.Equal(ticker.LastPrice - Btc.TickSize, sim.Ticker(Btc).BidPrice);

        sim.PinBook(Btc, [], [new(1m, 1m)]);
        sim.ClearBooks();
        Assert.Equal(sim.CurrentPrice(Btc) + Btc.TickSize, sim.Book(Btc, 1).Asks[0].Price);
    }

    private static void AssertPinned(MarketSimulator sim, decimal price)
    {
        Assert.Equal(price, sim.CurrentPrice(Btc));
        var ticker = sim.Ticker(Btc);
        Assert.Equal((price, price - Btc.TickSize, price + Btc.TickSize), (ticker.LastPrice, ticker.BidPrice, ticker.AskPrice));
        Assert.Equal(price, sim.Klines(Btc, KlineInterval.Find("1m")!, null, null, 1)[0].Close);
    }

    private static void AssertConsistent(IReadOnlyList<Candle> candles)
    {
        for (var i = 0; i < candles.Count; i++)
        {
            var c = candles[i];
            Assert.True(c.High >= Math.Max(c.Open, c.Close) && c.Low <= Math.Min(c.Open, c.Close) && c.Low > 0, $"candle {i}: {c}");
            Assert.True(c.Volume >= 0 && c.Trades >= 0 && c.TakerBuyBaseVolume <= c.Volume, $"candle {i}: {c}");
            Assert.InRange(c.QuoteVolume, c.Volume * c.Low - 0.00000001m, c.Volume * c.High + 0.00000001m);
            if (i == 0) continue;
            Assert.Equal(candles[i - 1].Close, c.Open);
            Assert.Equal(candles[i - 1].CloseTime + 1, c.OpenTime);
        }
    }

    private static MarketSimulator Simulator(int seed, out FakeTimeProvider time)
    {
        time = new FakeTimeProvider(Start);
        return new MarketSimulator(Options.Create(new ExchangeSimOptions { Seed = seed }), time);
    }
}

internal static class PriceWalkTestExtensions
{
    public static long Volume1s(this PriceWalk walk, long second) => walk.Volume(second, second + 1);
}
