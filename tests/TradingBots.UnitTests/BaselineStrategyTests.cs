using System.Text.Json;
using TradingBots.Strategies;

namespace TradingBots.UnitTests;

/// <summary>baseline v1 on fixed candle series, with hand-derived averages (fast 2, slow 3 unless said otherwise).</summary>
public sealed class BaselineStrategyTests
{
    private static readonly Baseline Strategy = new();

    private static StrategyInput Input(decimal[] closes, decimal price, OpenTrade[]? open = null, string knobs = """{"fast": 2, "slow": 3}""") =>
        new("BTC/USDT", [.. closes.Select((c, i) => new Candle(i * 60_000L, c, c, c, c, 1m))], price, open ?? [],
            KnobValues.Parse(knobs, StrategyRegistry.KnobsOf(Strategy)));

    private static OpenTrade Trade(long id, decimal entry) => new(id, "BTC/USDT", 0.001m, entry, entry * 0.001m, entry * 0.000001m);

    [Fact]
    public void Knobs_the_api_would_refuse_are_said_not_traded_on()
    {
        var error = Assert.Throws<ArgumentException>(() => Strategy.Decide(Input([10, 10, 13], 13, knobs: """{"fast": 0, "slow": 2}""")));
        Assert.Equal("knobs fast 0 and slow 2: fast must be at least 1 and below slow", error.Message);
    }

    [Fact]
    public void An_upward_cross_buys_order_quote()
    {
        // Before the last candle: SMA2 = 10, SMA3 = 10 (equal). With it: SMA2 = (10 + 13) / 2 = 11.5 > SMA3 = 33 / 3 = 11.
        var orders = Strategy.Decide(Input([10, 10, 10, 13], price: 13));

        Assert.Equal([StrategyOrder.Buy("BTC/USDT", 100m, "SMA2 crossed above SMA3")], orders);
    }

    [Fact]
    public void The_order_size_is_the_order_quote_knob()
    {
        var orders = Strategy.Decide(Input([10, 10, 10, 13], 13, knobs: """{"fast": 2, "slow": 3, "order_quote": 25.5}"""));

        Assert.Equal(25.5m, Assert.Single(orders).QuoteAmount);
    }

    [Fact]
    public void A_downward_cross_closes_every_open_trade()
    {
        // Before: SMA2 = (13 + 13) / 2 = 13 > SMA3 = (10 + 13 + 13) / 3 = 12. Now: SMA2 = (13 + 7) / 2 = 10 < SMA3 = 33 / 3 = 11.
        var orders = Strategy.Decide(Input([10, 10, 10, 13, 13, 7], price: 7, open: [Trade(1, 13), Trade(2, 12)],
            knobs: """{"fast": 2, "slow": 3, "max_open_trades": 2}"""));

        Assert.Equal([StrategyOrder.Close(Trade(1, 13), "SMA2 crossed below SMA3"), StrategyOrder.Close(Trade(2, 12), "SMA2 crossed below SMA3")], orders);
    }

    [Fact]
    public void No_cross_no_order()
    {
        // Rising steadily: SMA2 stays above SMA3 on both candles (before 12.5 > 12, now 13.5 > 13).
        Assert.Empty(Strategy.Decide(Input([10, 11, 12, 13, 14], price: 14)));
        Assert.Empty(Strategy.Decide(Input([10, 10, 10, 10], price: 10)));
    }

    [Theory]
    [InlineData(2, true)]    // the last judged candle is the third: SMA2 10 = SMA3 10, now 13 > 12: crossed since
    [InlineData(1, false)]   // judged from the fourth (SMA2 11.5 > SMA3 11): above already, no new cross
    [InlineData(0, false)]   // nothing closed since the last tick
    public void A_cross_is_judged_since_the_last_candle_it_saw(int newCandles, bool buys)
    {
        var input = Input([10, 10, 10, 13, 13], price: 13) with { NewCandles = newCandles };

        Assert.Equal(buys ? 1 : 0, Strategy.Decide(input).Count);
    }

    [Fact]
    public void An_upward_cross_at_max_open_trades_buys_nothing()
    {
        Assert.Empty(Strategy.Decide(Input([10, 10, 10, 13], 13, open: [Trade(1, 10)])));
    }

    [Fact]
    public void Too_few_closed_candles_hold()
    {
        // slow 3 needs 4 closed candles to see a cross.
        Assert.Equal(4, Strategy.CandlesNeeded(KnobValues.Parse("""{"fast": 2, "slow": 3}""", StrategyRegistry.KnobsOf(Strategy))));
        Assert.Empty(Strategy.Decide(Input([10, 10, 13], price: 13)));
    }

    [Fact]
    public void The_stops_are_percents_from_the_entry_price_and_the_crosses_alone_are_decided()
    {
        var knobs = KnobValues.Parse("""{"fast": 2, "slow": 3, "stop_loss_pct": 5, "take_profit_pct": 10}""", StrategyRegistry.KnobsOf(Strategy));

        // 100 × (1 − 5 / 100) = 95 and 100 × (1 + 10 / 100) = 110; none without the knobs.
        Assert.Equal(new Stops(95m, 110m), Strategy.StopsOf(Trade(7, 100), knobs));
        Assert.Equal(default, Strategy.StopsOf(Trade(7, 100), KnobValues.Parse("{}", StrategyRegistry.KnobsOf(Strategy))));
        // A close far below the stop decides nothing by itself: the stop rule judges prices (StopRuleTests).
        Assert.Empty(Strategy.Decide(Input([10, 10, 10, 10], 50, open: [Trade(7, 100)], knobs: """{"fast": 2, "slow": 3, "stop_loss_pct": 5}""")));
    }

    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var knobs = KnobValues.Parse("{}", StrategyRegistry.KnobsOf(Strategy));

        Assert.Equal((9, 21, 100m, 1, 5), (knobs.Integer("fast"), knobs.Integer("slow"), knobs.Decimal("order_quote"),
            knobs.Integer("max_open_trades"), knobs.Integer("tick_seconds")));
        Assert.Null(knobs.Get("stop_loss_pct"));
        Assert.Null(knobs.Get("max_ticks"));
    }
}

public sealed class StrategyRegistryTests
{
    [Theory]
    [InlineData("baseline", "baseline@1")]
    [InlineData("baseline@1", "baseline@1")]
    public void Strategies_are_found_by_name_and_version(string asked, string found) =>
        Assert.Equal(found, StrategyRegistry.Key(StrategyRegistry.Find(asked)!));

    [Theory]
    [InlineData("baseline@2")]
    [InlineData("nope")]
    [InlineData("baseline@x")]
    [InlineData("baseline@+1")]
    [InlineData("baseline@ 1")]
    public void An_unknown_strategy_is_not_found(string asked) => Assert.Null(StrategyRegistry.Find(asked));

    [Theory]
    [InlineData("donchian", "donchian", null)]
    [InlineData("donchian@12", "donchian", 12)]
    [InlineData("donchian@x", "donchian", -1)]
    [InlineData("donchian@-3", "donchian", -1)]
    [InlineData("donchian@", "donchian", -1)]
    public void A_strategy_key_splits_into_its_name_and_version(string key, string name, int? version) =>
        Assert.Equal((name, version), StrategyRegistry.Split(key));

    public static TheoryData<string, string, string> InvalidKnobs => new()
    {
        { """{"fast": 2.5}""", "knobs.fast", "must be an integer from 1 to 500" },
        { """{"fast": "9"}""", "knobs.fast", "must be an integer from 1 to 500" },
        { """{"slow": 1}""", "knobs.slow", "must be from 2 to 1000" },
        { """{"fast": 21, "slow": 21}""", "knobs.fast", "must be less than slow (21)" },
        { """{"order_quote": 0}""", "knobs.order_quote", "must be from 0.00000001 to 1000000000000" },
        { """{"tick_seconds": 0}""", "knobs.tick_seconds", "must be from 1 to 86400" },
        { """{"fee_rate": 1}""", "knobs.fee_rate", "must be from 0 to 0.999999" },
        { """{"fill_model": "mid"}""", "knobs.fill_model", "must be one of last, bidask, book" },
        { """{"fill_model": 1}""", "knobs.fill_model", "must be one of last, bidask, book" },
        { """{"slippage_bps": 1000.01}""", "knobs.slippage_bps", "must be from 0 to 1000" },
        { """{"exchange_rules": "yes"}""", "knobs.exchange_rules", "must be true or false" },
        { """{"exchange_rules": 1}""", "knobs.exchange_rules", "must be true or false" },
        { """{"leverage": 10}""", "knobs.leverage", "unknown knob of baseline@1; known: fast, slow, order_quote, stop_loss_pct, take_profit_pct, max_open_trades, tick_seconds, max_ticks, starting_cash, fee_rate, fill_model, slippage_bps, exchange_rules" },
    };

    [Theory]
    [MemberData(nameof(InvalidKnobs))]
    public void Knobs_are_checked_by_type_and_range_and_unknown_ones_refused(string knobs, string field, string reason)
    {
        using var json = JsonDocument.Parse(knobs);

        var errors = StrategyRegistry.Validate(new Baseline(), json.RootElement);

        Assert.Equal([reason], errors[field]);
        Assert.Single(errors);
    }

    [Fact]
    public void Valid_knobs_have_no_errors()
    {
        using var json = JsonDocument.Parse("""{"fast": 5, "slow": 20, "order_quote": 50, "stop_loss_pct": 2.5, "tick_seconds": 1, "max_ticks": 10}""");

        Assert.Empty(StrategyRegistry.Validate(new Baseline(), json.RootElement));
    }

    [Theory]
    [InlineData("""{"tick_seconds": 5.0}""", """{"tick_seconds":5}""")]
    [InlineData("""{"fast": 5.000, "slow": 2E1, "order_quote": 50.50, "fee_rate": 0.0010}""", """{"fast":5,"slow":20,"order_quote":50.50,"fee_rate":0.0010}""")]
    [InlineData("""{"max_ticks": 1e2, "stop_loss_pct": 2.5}""", """{"max_ticks":100,"stop_loss_pct":2.5}""")]
    [InlineData("""{"fill_model": " book ", "slippage_bps": 5, "exchange_rules": false}""", """{"fill_model":"book","slippage_bps":5,"exchange_rules":false}""")]
    [InlineData("{}", "{}")]
    public void Valid_knobs_are_stored_in_their_declared_types_one_form(string given, string stored)
    {
        using var json = JsonDocument.Parse(given);
        Assert.Empty(StrategyRegistry.Validate(new Baseline(), json.RootElement));

        Assert.Equal(stored, StrategyRegistry.Normalize(new Baseline(), json.RootElement));
    }
}
