using TradingBots.Paper;

namespace TradingBots.UnitTests;

/// <summary>The fill models, slippage and exchange rules of <see cref="PaperRules"/>, with figures derived by hand.</summary>
public sealed class FillRulesTests
{
    private static readonly Quote Ticker = new(Last: 100.00m, Bid: 99.99m, Ask: 100.01m);

    // Three levels of asks and of bids: 0.5 + 1.0 + 2.0 = 3.5 base on each side.
    private static readonly BookLevel[] Asks = [new(100.00m, 0.5m), new(100.10m, 1.0m), new(100.50m, 2.0m)];
    private static readonly BookLevel[] Bids = [new(99.90m, 0.5m), new(99.80m, 1.0m), new(99.00m, 2.0m)];

    /// <summary>BTCUSDT's filters on ExchangeSim (and, at the time of writing, on Binance): tick 0.01, step 0.00001, 5 USDT minimum.</summary>
    private static readonly ExchangeRules Btc = new(TickSize: 0.01m, StepSize: 0.00001m, MinQty: 0.00001m, MaxQty: 9000m, MinNotional: 5m, MaxNotional: 9_000_000m);

    [Theory]
    [InlineData(FillModels.Last, Sides.Buy, 100.00)]
    [InlineData(FillModels.Last, Sides.Sell, 100.00)]
    [InlineData(FillModels.BidAsk, Sides.Buy, 100.01)]
    [InlineData(FillModels.BidAsk, Sides.Sell, 99.99)]
    public void Last_fills_at_the_last_price_and_bidask_buys_at_the_ask_and_sells_at_the_bid(string model, string side, double expected) =>
        Assert.Equal((decimal)expected, PaperRules.ModelPrice(model, side, Ticker));

    [Fact]
    public void The_book_model_needs_the_orders_size() =>
        Assert.Throws<ArgumentException>(() => PaperRules.ModelPrice(FillModels.Book, Sides.Buy, Ticker));

    [Fact]
    public void A_three_level_walk_by_base_quantity_fills_at_the_volume_weighted_price()
    {
        // 0.5 × 100.00 + 1.0 × 100.10 + 0.5 × 100.50 = 50 + 100.10 + 50.25 = 200.35 for 2.0 base: 100.175 each.
        Assert.Equal(100.175m, PaperRules.BookPrice(Asks, qty: 2.0m, quote: null));
        // A sell walks the bids: 0.5 × 99.90 + 1.0 × 99.80 + 1.5 × 99.00 = 49.95 + 99.80 + 148.50 = 298.25 for 3.0: 99.41666…
        Assert.Equal(99.416666666667m, PaperRules.BookPrice(Bids, qty: 3.0m, quote: null));
    }

    [Fact]
    public void A_walk_by_quote_amount_spends_it_level_by_level()
    {
        // 150 quote: the first level costs 50 (0.5 base); the next 100 buy 100 / 100.10 of the second level. The price is
        // 150 / (0.5 + 100 / 100.1) = 150 × 100.1 / 150.05 = 15015 / 150.05 = 100.066644451849 38…, rounded to 12 places.
        Assert.Equal(100.066644451849m, PaperRules.BookPrice(Asks, qty: null, quote: 150m));
        // Within the best level: its own price.
        Assert.Equal(100.00m, PaperRules.BookPrice(Asks, qty: null, quote: 50m));
    }

    [Fact]
    public void A_walk_larger_than_the_book_has_no_price()
    {
        Assert.Equal(3.5m, PaperRules.Depth(Asks));
        Assert.Null(PaperRules.BookPrice(Asks, qty: 3.5000001m, quote: null));
        // The whole book: (50 + 100.10 + 201) / 3.5 = 351.1 / 3.5 = 100.3142857142857…
        Assert.Equal(100.314285714286m, PaperRules.BookPrice(Asks, qty: 3.5m, quote: null));
        Assert.Null(PaperRules.BookPrice(Asks, qty: null, quote: 351.11m));
        Assert.Null(PaperRules.BookPrice([], qty: 1m, quote: null));
    }

    [Theory]
    [InlineData(Sides.Buy, 0, 100)]
    [InlineData(Sides.Buy, 25, 100.25)]
    [InlineData(Sides.Sell, 25, 99.75)]
    [InlineData(Sides.Buy, 1, 100.01)]
    [InlineData(Sides.Sell, 10000, 0)]
    public void Slippage_moves_the_price_against_the_order(string side, int bps, double expected) =>
        Assert.Equal((decimal)expected, PaperRules.Slip(100m, side, bps));

    [Fact]
    public void Under_exchange_rules_the_fill_price_is_on_the_tick_rounded_against_the_order()
    {
        // 100000.37 × 1.0003 = 100030.370111 → up to 100030.38; × 0.9997 = 99970.369889 → down to 99970.36.
        Assert.Equal(100030.38m, PaperRules.FillPrice(100000.37m, Sides.Buy, 3m, Btc));
        Assert.Equal(99970.36m, PaperRules.FillPrice(100000.37m, Sides.Sell, 3m, Btc));
        // Without rules the slipped price stands as computed; on the tick already, it stays.
        Assert.Equal(100030.370111m, PaperRules.FillPrice(100000.37m, Sides.Buy, 3m, rules: null));
        Assert.Equal(100000.37m, PaperRules.FillPrice(100000.37m, Sides.Buy, 0m, Btc));
    }

    [Fact]
    public void A_buy_by_quote_under_exchange_rules_rounds_the_quantity_down_to_the_step()
    {
        // 100 / 100000.37 = 0.00099999630… → 0.00099 (step 0.00001); it costs 0.00099 × 100000.37 = 99.0003663, fee 0.1 %.
        var fill = PaperRules.Buy(100000.37m, quoteAmount: 100m, baseQty: null, feeRate: 0.001m, Btc);
        Assert.Equal(new BuyFill(Qty: 0.00099m, Quote: 99.0003663m, Fee: 0.0990003663m), fill);
        // Without rules: the spec's fill, quote / P to 12 places.
        Assert.Equal(new BuyFill(0.000999996300m, 100m, 0.1m), PaperRules.Buy(100000.37m, 100m, null, 0.001m, rules: null));
    }

    [Fact]
    public void A_buy_by_base_quantity_under_exchange_rules_rounds_it_down_to_the_step()
    {
        var fill = PaperRules.Buy(100000.37m, quoteAmount: null, baseQty: 0.000019m, feeRate: 0.001m, Btc);
        Assert.Equal(new BuyFill(Qty: 0.00001m, Quote: 1.0000037m, Fee: 0.0010000037m), fill);
    }

    [Fact]
    public void Lot_size_refuses_under_the_minimum_and_over_the_maximum_quantity()
    {
        var under = PaperRules.Refusal(Btc, qty: 0m, price: 100000.37m);
        Assert.Equal(new RuleRefusal("LOT_SIZE", "quantity 0 is under the minimum 0.00001 (step 0.00001)"), under);
        Assert.Null(PaperRules.Refusal(Btc with { MinNotional = null }, qty: 0.00001m, price: 100000.37m));
        Assert.Equal(new RuleRefusal("LOT_SIZE", "quantity 9000.00001 is over the maximum 9000"),
            PaperRules.Refusal(Btc with { MaxNotional = null }, qty: 9000.00001m, price: 1m));
    }

    [Fact]
    public void Notional_refuses_an_order_worth_less_than_the_minimum_at_its_edge()
    {
        // 0.00004 × 100000.37 = 4.0000148 < 5: refused; 0.00005 × 100000.37 = 5.0000185: filled; exactly 5 is enough.
        Assert.Equal(new RuleRefusal("NOTIONAL", "value 4.0000148 is under the minimum notional 5"), PaperRules.Refusal(Btc, 0.00004m, 100000.37m));
        Assert.Null(PaperRules.Refusal(Btc, 0.00005m, 100000.37m));
        Assert.Null(PaperRules.Refusal(Btc, 0.00005m, 100000m));
        Assert.Equal("NOTIONAL", PaperRules.Refusal(Btc, 100m, 100000m)!.Filter); // 10,000,000 > 9,000,000
    }

    [Fact]
    public void A_small_quote_buy_is_refused_by_the_notional_after_the_step_rounds_it_down()
    {
        // 4.99 / 100000.37 = 0.0000498998… → 0.00004, worth 4.0000148.
        var fill = PaperRules.Buy(100000.37m, 4.99m, null, 0.001m, Btc);
        Assert.Equal(0.00004m, fill.Qty);
        Assert.Equal("NOTIONAL", PaperRules.Refusal(Btc, fill.Qty, 100000.37m)!.Filter);
    }
}

/// <summary>The fill knobs as bots declare them (GET /strategies, validation) and as the paper engine reads them agree.</summary>
public sealed class FillTermsTests
{
    [Fact]
    public void The_declared_knobs_and_the_engines_defaults_agree()
    {
        var specs = TradingBots.Strategies.BotKnobs.All.ToDictionary(k => k.Name);
        Assert.Equal(FillModels.All, specs["fill_model"].Choices);
        Assert.Equal(FillTerms.Bot.ExchangeRules, specs["exchange_rules"].Default == 1);
        Assert.Equal(PaperRules.MaxSlippageBps, specs["slippage_bps"].Max);
        var knobs = TradingBots.Strategies.KnobValues.Parse("{}", specs.Values);
        Assert.True(knobs.Flag("exchange_rules"));
        Assert.False(TradingBots.Strategies.KnobValues.Parse("""{"exchange_rules": false}""", specs.Values).Flag("exchange_rules"));
    }

    [Theory]
    [InlineData(null, "last", 0, true)]
    [InlineData("""{"fill_model": "book", "slippage_bps": 2.5, "exchange_rules": false}""", "book", 2.5, false)]
    [InlineData("""{"fill_model": "bidask"}""", "bidask", 0, true)]
    [InlineData("""{"fill_model": "mid", "slippage_bps": -1, "exchange_rules": "no"}""", "last", 0, true)]
    [InlineData("""{"slippage_bps": 1001}""", "last", 0, true)]
    public void A_bots_terms_come_from_valid_knobs_else_the_bot_defaults(string? knobs, string model, double bps, bool rules) =>
        Assert.Equal(new FillTerms(model, (decimal)bps, rules), PaperRules.Terms(knobs, FillTerms.Bot));
}

/// <summary>A backtest's ledger fills as the paper engine does: the same slippage and exchange rules, the same figures.</summary>
public sealed class LedgerFillTests
{
    private static readonly ExchangeRules Btc = new(0.01m, 0.00001m, 0.00001m, 9000m, 5m, 9_000_000m);

    [Fact]
    public void A_round_trip_with_slippage_under_exchange_rules()
    {
        var ledger = new TradingBots.Backtests.Ledger(1000m, 0.001m, slippageBps: 3m, new Dictionary<string, ExchangeRules> { ["BTC/USDT"] = Btc });

        Assert.Null(ledger.Buy("BTC/USDT", 100m, 100000.37m, at: 1, "in"));
        // As the engine's: 100030.38 (3 bps up, on the tick), 0.00099 BTC (on the step) for 99.0300762, fee 0.0990300762.
        var trade = Assert.Single(ledger.Trades);
        Assert.Equal((100030.38m, 0.00099m, 99.0300762m, 0.0990300762m), (trade.EntryPrice, trade.Qty, trade.CostBasisQuote, trade.FeesPaidQuote));

        Assert.Null(ledger.Close(trade.Id, 100000.37m, at: 2, "out"));
        // 3 bps down is 99970.369889, down to the tick 99970.36: 0.00099 × 99970.36 = 98.9706564, fee 0.0989706564;
        // realized 98.9706564 − 99.0300762 − 0.0990300762 − 0.0989706564 = −0.2574205326.
        Assert.Equal((99970.36m, 98.9706564m, -0.2574205326m), (trade.ExitPrice, trade.ProceedsQuote, trade.RealizedPnlQuote));
        Assert.Equal(1000m - 99.0300762m - 0.0990300762m + 98.9706564m - 0.0989706564m, ledger.Cash);
    }

    [Fact]
    public void A_buy_under_a_filter_is_refused_with_its_reason_and_changes_nothing()
    {
        var ledger = new TradingBots.Backtests.Ledger(1000m, 0.001m, slippageBps: 3m, new Dictionary<string, ExchangeRules> { ["BTC/USDT"] = Btc });

        // 4.99 / 100030.38 → 0.00004 on the step, worth 4.0012152 at the fill price.
        Assert.Equal("buy of 4.99 BTC/USDT refused: NOTIONAL: value 4.0012152 is under the minimum notional 5",
            ledger.Buy("BTC/USDT", 4.99m, 100000.37m, at: 1, "in"));
        Assert.Empty(ledger.Trades);
        Assert.Equal(1000m, ledger.Cash);
    }
}
