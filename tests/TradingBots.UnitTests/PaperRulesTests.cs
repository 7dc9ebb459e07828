using TradingBots.Paper;

namespace TradingBots.UnitTests;

public sealed class PaperRulesTests
{
    [Theory]
    [InlineData("""{"fee_rate": 0.002}""", 0.002)]
    [InlineData("""{"fee_rate": 0}""", 0)]
    [InlineData("""{"fee_rate": 1}""", 0.001)]
    [InlineData("""{"fee_rate": -0.1}""", 0.001)]
    [InlineData("""{"fee_rate": "0.002"}""", 0.001)]
    [InlineData("""{"other": 1}""", 0.001)]
    [InlineData("[]", 0.001)]
    [InlineData("not json", 0.001)]
    [InlineData(null, 0.001)]
    public void Fee_rate_comes_from_valid_knobs_else_the_default(string? knobs, double expected) =>
        Assert.Equal((decimal)expected, PaperRules.FeeRate(knobs, 0.001m));

    [Theory]
    [InlineData("""{"starting_cash": 500}""", 500)]
    [InlineData("""{"starting_cash": 0}""", 10000)]
    [InlineData("""{"starting_cash": "500"}""", 10000)]
    [InlineData("{}", 10000)]
    public void Starting_cash_comes_from_valid_knobs_else_the_default(string knobs, int expected) =>
        Assert.Equal(expected, PaperRules.StartingCash(knobs, 10000m));

    [Fact]
    public void Buy_by_quote_amount_the_specs_example()
    {
        var fill = PaperRules.Buy(price: 100000m, quoteAmount: 100m, baseQty: null, feeRate: 0.001m);

        Assert.Equal(new BuyFill(Qty: 0.001m, Quote: 100m, Fee: 0.1m), fill);
        // Marked at 100120: 0.001 × 100120 − 100 − 0.1 = 0.02 (the spec's trade.updated example).
        Assert.Equal(0.02m, PaperRules.Unrealized(fill.Qty, 100120m, fill.Quote, fill.Fee));
    }

    [Fact]
    public void Buy_by_base_qty()
    {
        var fill = PaperRules.Buy(price: 2500.5m, quoteAmount: null, baseQty: 0.4m, feeRate: 0.002m);

        Assert.Equal(new BuyFill(Qty: 0.4m, Quote: 1000.2m, Fee: 2.0004m), fill);
    }

    [Fact]
    public void Buy_needs_exactly_one_amount()
    {
        Assert.Throws<ArgumentException>(() => PaperRules.Buy(100m, 1m, 1m, 0.001m));
        Assert.Throws<ArgumentException>(() => PaperRules.Buy(100m, null, null, 0.001m));
    }

    [Fact]
    public void Full_sell_realizes_proceeds_minus_cost_minus_all_fees()
    {
        var lot = new OpenLot(TradeId: 1, Amount: 0.001m, CostBasisQuote: 100m, FeesPaidQuote: 0.1m, RealizedPnlQuote: 0m);

        var sale = Assert.Single(PaperRules.Sell([lot], qty: null, price: 100200m, feeRate: 0.001m));

        // proceeds 100.2, fee 0.1002, realized 100.2 − 100 − (0.1 + 0.1002) = −0.0002
        Assert.Equal(new LotSale(1, 0.001m, 100.2m, 0.1002m, Closes: true, 0m, 0m, FeesPaidQuote: 0.2002m, RealizedPnlQuote: -0.0002m), sale);
    }

    [Fact]
    public void Partial_sells_keep_proportional_cost_and_end_with_the_exact_total()
    {
        // Bought 2 at 100 for 200, fee 0.2.
        var lot = new OpenLot(7, 2m, 200m, 0.2m, 0m);

        var first = Assert.Single(PaperRules.Sell([lot], qty: 0.5m, price: 120m, feeRate: 0.001m));
        // 0.5 sold for 60 (fee 0.06); a quarter of the cost basis (50) goes; 1.5 stay open with 150.
        Assert.Equal(new LotSale(7, 0.5m, 60m, 0.06m, false, 1.5m, 150m, 0.26m, 10m), first);
        // The rest marked at 120: 180 − 150 − 0.26 = 29.74; realized 10 + unrealized 29.74 = the whole PnL so far.
        Assert.Equal(29.74m, PaperRules.Unrealized(1.5m, 120m, 150m, 0.26m));

        var rest = new OpenLot(7, first.RemainingAmount, first.RemainingCostBasis, first.FeesPaidQuote, first.RealizedPnlQuote);
        var second = Assert.Single(PaperRules.Sell([rest], qty: null, price: 90m, feeRate: 0.001m));
        // 1.5 sold for 135 (fee 0.135). Total: proceeds 195 − cost 200 − fees (0.2 + 0.06 + 0.135) = −5.395.
        Assert.Equal(new LotSale(7, 1.5m, 135m, 0.135m, true, 0m, 0m, 0.395m, -5.395m), second);
        Assert.Equal(60m + 135m - 200m - 0.395m, second.RealizedPnlQuote);
    }

    [Fact]
    public void Sell_walks_trades_oldest_first_and_splits_the_last_one()
    {
        OpenLot[] lots = [new(1, 1m, 100m, 0.1m, 0m), new(2, 2m, 220m, 0.22m, 0m), new(3, 1m, 90m, 0.09m, 0m)];

        var sales = PaperRules.Sell(lots, qty: 2m, price: 100m, feeRate: 0.001m);

        Assert.Equal(2, sales.Count);
        Assert.Equal(new LotSale(1, 1m, 100m, 0.1m, true, 0m, 0m, 0.2m, -0.2m), sales[0]);
        Assert.Equal(new LotSale(2, 1m, 100m, 0.1m, false, 1m, 110m, 0.32m, -10m), sales[1]);
    }

    [Fact]
    public void Selling_more_than_held_is_refused()
    {
        Assert.Throws<ArgumentException>(() => PaperRules.Sell([new OpenLot(1, 1m, 100m, 0.1m, 0m)], 1.0000001m, 100m, 0.001m));
    }

    [Fact]
    public void Computed_amounts_are_rounded_once_to_twelve_places_half_to_even()
    {
        var fill = PaperRules.Buy(price: 3m, quoteAmount: 100m, baseQty: null, feeRate: 0.001m);
        Assert.Equal(new BuyFill(33.333333333333m, 100m, 0.1m), fill);

        // 0.0000000000005 is exactly half way: to even (0), and 0.0000000000015 to 0.000000000002.
        Assert.Equal(new BuyFill(0.000000000001m, 0.000000000000m, 0m), PaperRules.Buy(0.5m, null, 0.000000000001m, 0m));
        Assert.Equal(new BuyFill(0.000000000003m, 0.000000000002m, 0m), PaperRules.Buy(0.5m, null, 0.000000000003m, 0m));

        // Sold back at the same price: proceeds 99.999999999999, so the rounding shows as −0.000000000001 before fees.
        var sale = PaperRules.SellFrom(new OpenLot(1, fill.Qty, fill.Quote, fill.Fee, 0m), fill.Qty, 3m, 0.001m);
        Assert.Equal((99.999999999999m, 0.1m, -0.200000000001m), (sale.Proceeds, sale.Fee, sale.RealizedPnlQuote));
    }

    /// <summary>
    /// At the limits: the largest starting cash (10^12) spent on a token at 0.00000001 holds 10^20 of it; a quarter sold at
    /// twice the price. Cost basis × quantity (2.5 × 10^31) would overflow decimal; the share sold (0.25) times the cost
    /// basis does not: cost sold 2.5 × 10^11, proceeds 2.5 × 10^19 × 0.00000002 = 5 × 10^11, fee 5 × 10^8 (fees now 1.5 × 10^9).
    /// </summary>
    [Fact]
    public void A_partial_sell_of_a_huge_cheap_position_divides_before_it_multiplies()
    {
        var sale = PaperRules.SellFrom(new OpenLot(1, 100_000_000_000_000_000_000m, 1_000_000_000_000m, 1_000_000_000m, 0m),
            25_000_000_000_000_000_000m, 0.00000002m, 0.001m);

        Assert.Equal((500_000_000_000m, 500_000_000m, false), (sale.Proceeds, sale.Fee, sale.Closes));
        Assert.Equal((75_000_000_000_000_000_000m, 750_000_000_000m, 1_500_000_000m, 250_000_000_000m),
            (sale.RemainingAmount, sale.RemainingCostBasis, sale.FeesPaidQuote, sale.RealizedPnlQuote));
    }

    [Fact]
    public void Partial_cost_basis_is_rounded_and_the_rest_keeps_the_remainder()
    {
        var sale = PaperRules.SellFrom(new OpenLot(1, 3m, 100m, 0m, 0m), 1m, 10m, 0m);

        Assert.Equal(66.666666666667m, sale.RemainingCostBasis);
        Assert.Equal(10m - 33.333333333333m, sale.RealizedPnlQuote);
    }

    [Fact]
    public void A_sell_by_quote_amount_converts_like_a_buy_rounded_once()
    {
        // 100 / 3 = 33.3333…: both sides take 33.333333333333, never a 28-decimal quantity.
        Assert.Equal(33.333333333333m, PaperRules.SellQty(baseQty: null, quoteAmount: 100m, price: 3m));
        Assert.Equal(PaperRules.Buy(3m, 100m, null, 0m).Qty, PaperRules.SellQty(null, 100m, 3m));
        // 10 / 103394.4 = 0.000096717036899…: rounded at the 12th place, 0.000096717037.
        Assert.Equal(0.000096717037m, PaperRules.SellQty(null, 10m, 103394.4m));
        Assert.Equal(0.25m, PaperRules.SellQty(baseQty: 0.25m, quoteAmount: null, price: 3m));
        Assert.Null(PaperRules.SellQty(null, null, 3m));
        // Less than half of the smallest step sells nothing: the engine refuses it as too small.
        Assert.Equal(0m, PaperRules.SellQty(null, 0.0000000000004m, 1m));
    }

    [Fact]
    public void A_position_value_is_rounded_like_every_amount()
    {
        // 0.000967170369 × 103438.3 = 100.0424587797327 exactly: 13 places, rounded to 100.042458779733.
        Assert.Equal(100.042458779733m, PaperRules.Value(0.000967170369m, 103438.3m));
        Assert.Equal(0.000000000002m, PaperRules.Value(0.000000000003m, 0.5m)); // 0.0000000000015: half to even
    }

    [Theory]
    [InlineData(null, "USDT")]                       // the manual account: the configured currency
    [InlineData(new[] { "ETH/BTC", "SOL/BTC" }, "BTC")]  // a bot: the quote of its (first) symbol
    [InlineData(new[] { "PEPE/TRY" }, "TRY")]
    [InlineData(new string[0], "USDT")]
    public void An_account_holds_one_currency(string[]? botSymbols, string expected) =>
        Assert.Equal(expected, PaperRules.AccountCurrency(botSymbols, "USDT"));

    [Fact]
    public void A_symbol_in_another_currency_is_refused_naming_both()
    {
        Assert.Null(PaperRules.CurrencyMismatch("BTC/USDT", "USDT"));
        Assert.Equal("ETH/BTC is quoted in BTC; this account holds USDT", PaperRules.CurrencyMismatch("ETH/BTC", "USDT"));
        Assert.Equal("BTC", PaperRules.QuoteOf("ETH/BTC"));
    }
}
