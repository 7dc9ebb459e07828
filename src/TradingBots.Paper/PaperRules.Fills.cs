using System.Text.Json;
using TradingBots.Events;

namespace TradingBots.Paper;

/// <summary>How an account's market orders are priced (<see cref="PaperRules.ModelPrice"/>).</summary>
public static class FillModels
{
    /// <summary>The ticker's last price: the spec's rule and the default.</summary>
    public const string Last = "last";

    /// <summary>Buys at the ticker's best ask, sells at its best bid.</summary>
    public const string BidAsk = "bidask";

    /// <summary>Walks the order book for the order's size: the volume-weighted price of the levels it takes.</summary>
    public const string Book = "book";

    public static IReadOnlyList<string> All { get; } = [Last, BidAsk, Book];
}

/// <summary>A symbol's ticker as the fill rules read it: last price, best bid, best ask.</summary>
public readonly record struct Quote(decimal Last, decimal Bid, decimal Ask);

/// <summary>One price level of an order book: its price and the base quantity offered there.</summary>
public readonly record struct BookLevel(decimal Price, decimal Qty);

/// <summary>An order book: bids best (highest) first, asks best (lowest) first.</summary>
public sealed record OrderBook(IReadOnlyList<BookLevel> Bids, IReadOnlyList<BookLevel> Asks);

/// <summary>
/// Binance's exchangeInfo filters that bound a market order of one symbol; null where the exchange sets none.
/// <see cref="TickSize"/> (PRICE_FILTER), <see cref="StepSize"/>, <see cref="MinQty"/>, <see cref="MaxQty"/> (LOT_SIZE,
/// narrowed by MARKET_LOT_SIZE), <see cref="MinNotional"/> and <see cref="MaxNotional"/> (NOTIONAL / MIN_NOTIONAL where
/// they apply to market orders).
/// </summary>
public sealed record ExchangeRules(decimal? TickSize, decimal? StepSize, decimal? MinQty, decimal? MaxQty, decimal? MinNotional, decimal? MaxNotional);

/// <summary>How an account fills: its <see cref="FillModels">model</see>, slippage in basis points and whether exchange rules apply.</summary>
public sealed record FillTerms(string Model, decimal SlippageBps, bool ExchangeRules)
{
    /// <summary>A bot's terms when its knobs say nothing: the last price, no slippage, the exchange's rules (as BotKnobs declares).</summary>
    public static FillTerms Bot { get; } = new(FillModels.Last, 0m, ExchangeRules: true);
}

/// <summary>An order an exchange rule refuses: the filter (LOT_SIZE, NOTIONAL, PRICE_FILTER) and why, with the numbers.</summary>
public sealed record RuleRefusal(string Filter, string Reason);

public static partial class PaperRules
{
    /// <summary>Slippage an account may ask for at most: 10 % (1,000 basis points).</summary>
    public const decimal MaxSlippageBps = 1000m;

    /// <summary>
    /// An account's fill terms from its knobs: knobs.fill_model when one of <see cref="FillModels.All"/>, knobs.slippage_bps
    /// when a number from 0 to <see cref="MaxSlippageBps"/>, knobs.exchange_rules when true or false; else the defaults'.
    /// </summary>
    public static FillTerms Terms(string? knobs, FillTerms defaults) => new(
        KnobElement(knobs, "fill_model") is { ValueKind: JsonValueKind.String } model && FillModels.All.Contains(model.GetString()!)
            ? model.GetString()! : defaults.Model,
        Knob(knobs, "slippage_bps") is { } bps && bps >= 0 && bps <= MaxSlippageBps ? bps : defaults.SlippageBps,
        KnobElement(knobs, "exchange_rules") is { ValueKind: JsonValueKind.True or JsonValueKind.False } rules ? rules.GetBoolean() : defaults.ExchangeRules);

    /// <summary>
    /// The price a market order of <paramref name="side"/> fills at under <paramref name="model"/>, before slippage:
    /// <see cref="FillModels.Last"/> the last price; <see cref="FillModels.BidAsk"/> the ask for a buy, the bid for a sell.
    /// (<see cref="FillModels.Book"/> needs the order's size: <see cref="BookPrice"/>.)
    /// </summary>
    public static decimal ModelPrice(string model, string side, Quote quote) => model switch
    {
        FillModels.Last => quote.Last,
        FillModels.BidAsk => side == Sides.Buy ? quote.Ask : quote.Bid,
        _ => throw new ArgumentException($"the {model} fill model prices from the order book, not the ticker", nameof(model)),
    };

    /// <summary>
    /// Walks one side of a book (a buy takes the asks, a sell the bids, best first) for a base quantity
    /// <paramref name="qty"/> or a quote amount <paramref name="quote"/>: the volume-weighted price of what it takes
    /// (total quote ÷ total base), rounded once. Null when the levels given hold less than the order.
    /// </summary>
    public static decimal? BookPrice(IReadOnlyList<BookLevel> levels, decimal? qty, decimal? quote)
    {
        if (qty.HasValue == quote.HasValue) throw new ArgumentException("a book walk takes exactly one of a base quantity or a quote amount");
        if (qty <= 0 || quote <= 0) throw new ArgumentOutOfRangeException(nameof(qty), "a walk needs a positive size");
        var (baseLeft, quoteLeft) = (qty, quote);
        var (baseTaken, quoteTaken) = (0m, 0m);
        foreach (var level in levels)
        {
            if (baseLeft is { } b)
            {
                var take = Math.Min(b, level.Qty);
                (baseTaken, quoteTaken, baseLeft) = (baseTaken + take, quoteTaken + take * level.Price, b - take);
                if (baseLeft == 0) return Round(quoteTaken / baseTaken);
            }
            else
            {
                var spend = Math.Min(quoteLeft!.Value, level.Qty * level.Price);
                (baseTaken, quoteTaken, quoteLeft) = (baseTaken + spend / level.Price, quoteTaken + spend, quoteLeft - spend);
                if (quoteLeft == 0) return Round(quoteTaken / baseTaken);
            }
        }
        return null;
    }

    /// <summary>Base quantity the levels hold in all (what a walk could take at most).</summary>
    public static decimal Depth(IReadOnlyList<BookLevel> levels) => levels.Sum(l => l.Qty);

    /// <summary>
    /// <paramref name="price"/> moved <paramref name="bps"/> basis points against the order: up for a buy, down for a sell;
    /// rounded once.
    /// </summary>
    public static decimal Slip(decimal price, string side, decimal bps) =>
        bps == 0 ? price : Round(price * (side == Sides.Buy ? 1 + bps / 10_000 : 1 - bps / 10_000));

    /// <summary>
    /// The price an order fills at from its model's price: slipped (<see cref="Slip"/>), then, under exchange rules, on
    /// the symbol's tick size, rounded against the order (a buy up to the next tick, a sell down), as no exchange fills
    /// between its ticks.
    /// </summary>
    public static decimal FillPrice(decimal modelPrice, string side, decimal slippageBps, ExchangeRules? rules)
    {
        var price = Slip(modelPrice, side, slippageBps);
        if (rules?.TickSize is not { } tick || tick <= 0) return price;
        var ticks = price / tick;
        return (side == Sides.Buy ? Math.Ceiling(ticks) : Math.Floor(ticks)) * tick;
    }

    /// <summary>A quantity under exchange rules: rounded down to the symbol's step size (LOT_SIZE), as Binance fills it.</summary>
    public static decimal OnStep(decimal qty, ExchangeRules? rules) =>
        rules?.StepSize is { } step && step > 0 ? Math.Floor(qty / step) * step : qty;

    /// <summary>
    /// A market buy under exchange rules: the quantity of exactly one of a quote amount (what it buys at P, as Binance's
    /// quoteOrderQty: quote / P rounded down to the step) or a base quantity (rounded down to the step); the quote spent is
    /// that quantity × P, and the fee is on it. Without rules (null) it is <see cref="Buy(decimal, decimal?, decimal?, decimal)"/>.
    /// </summary>
    public static BuyFill Buy(decimal price, decimal? quoteAmount, decimal? baseQty, decimal feeRate, ExchangeRules? rules)
    {
        if (rules is null) return Buy(price, quoteAmount, baseQty, feeRate);
        if (price <= 0) throw new ArgumentOutOfRangeException(nameof(price), price, "a price must be positive");
        if (quoteAmount.HasValue == baseQty.HasValue) throw new ArgumentException("a buy takes exactly one of quote_amount or base_qty");
        var qty = OnStep(quoteAmount is { } q ? QtyForQuote(q, price) : baseQty!.Value, rules);
        var quote = Value(qty, price);
        return new BuyFill(qty, quote, Round(feeRate * quote));
    }

    /// <summary>
    /// Why the exchange would refuse a market order of <paramref name="qty"/> at <paramref name="price"/>, or null:
    /// LOT_SIZE (quantity under minQty or over maxQty) first, then NOTIONAL (qty × price under minNotional or over maxNotional).
    /// </summary>
    public static RuleRefusal? Refusal(ExchangeRules rules, decimal qty, decimal price)
    {
        if (rules.MinQty is { } minQty && qty < minQty)
            return new("LOT_SIZE", $"quantity {WireJson.Format(qty)} is under the minimum {WireJson.Format(minQty)} (step {WireJson.Format(rules.StepSize ?? 0)})");
        if (rules.MaxQty is { } maxQty && maxQty > 0 && qty > maxQty)
            return new("LOT_SIZE", $"quantity {WireJson.Format(qty)} is over the maximum {WireJson.Format(maxQty)}");
        var notional = Value(qty, price);
        if (rules.MinNotional is { } min && notional < min)
            return new("NOTIONAL", $"value {WireJson.Format(notional)} is under the minimum notional {WireJson.Format(min)}");
        if (rules.MaxNotional is { } max && max > 0 && notional > max)
            return new("NOTIONAL", $"value {WireJson.Format(notional)} is over the maximum notional {WireJson.Format(max)}");
        return null;
    }
}
