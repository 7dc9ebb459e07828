using System.Text.Json;

namespace TradingBots.Paper;

/// <summary>What one buy fills: base quantity, quote spent (the cost basis) and the fee on it.</summary>
public sealed record BuyFill(decimal Qty, decimal Quote, decimal Fee);

/// <summary>Why a buy is refused: <see cref="PaperRules.Refusal"/>.</summary>
public enum BuyRefusal { TooSmall, InsufficientCash }

/// <summary>An open trade as the sell rules see it.</summary>
public sealed record OpenLot(long TradeId, decimal Amount, decimal CostBasisQuote, decimal FeesPaidQuote, decimal RealizedPnlQuote);

/// <summary>
/// What a sell does to one open trade. <see cref="Closes"/> when all of it is sold; otherwise the trade stays open
/// with <see cref="RemainingAmount"/> and the proportional <see cref="RemainingCostBasis"/>.
/// </summary>
public sealed record LotSale(long TradeId, decimal Qty, decimal Proceeds, decimal Fee, bool Closes, decimal RemainingAmount,
    decimal RemainingCostBasis, decimal FeesPaidQuote, decimal RealizedPnlQuote);

/// <summary>
/// The paper execution rules of the spec, made precise; the one implementation the Trading API and the Worker's
/// strategies share. Decimal arithmetic; every computed amount (quantity, quote, fee, cost basis sold) is rounded
/// once, to <see cref="Scale"/> decimal places (half to even), and what is charged is exactly what is recorded.
/// A fixed scale keeps PostgreSQL's sums of these numeric columns within what a decimal can hold.
///
/// Fees stay with the trade until it closes: a partial sell adds (proceeds − cost basis sold) to the trade's
/// realized PnL and its fee to fees_paid_quote, while the unrealized PnL of the rest deducts every fee paid so far.
/// So realized + unrealized is always the trade's whole PnL, and once closed its realized PnL is
/// total proceeds − original cost basis − all fees.
/// </summary>
public static partial class PaperRules
{
    /// <summary>Decimal places of every computed amount; finer than any exchange's step size (Binance: 8).</summary>
    public const int Scale = 12;

    public static decimal Round(decimal value) => Math.Round(value, Scale, MidpointRounding.ToEven);

    /// <summary>knobs.fee_rate when it is a number with 0 ≤ r &lt; 1, else the default.</summary>
    public static decimal FeeRate(string? knobs, decimal defaultRate) =>
        Knob(knobs, "fee_rate") is { } rate && rate >= 0 && rate < 1 ? rate : defaultRate;

    /// <summary>knobs.starting_cash when it is a positive number, else the default.</summary>
    public static decimal StartingCash(string? knobs, decimal defaultCash) =>
        Knob(knobs, "starting_cash") is { } cash && cash > 0 ? cash : defaultCash;

    /// <summary>The currency a symbol is quoted in: "ETH/BTC" → "BTC".</summary>
    public static string QuoteOf(string symbol) => symbol[(symbol.IndexOf('/') + 1)..];

    /// <summary>
    /// The one currency an account holds: a bot's is the quote of its (first) symbol, the manual account's the configured
    /// one. Fixed when the account first trades.
    /// </summary>
    public static string AccountCurrency(IReadOnlyList<string>? botSymbols, string manualCurrency) =>
        botSymbols is [var first, ..] && first.Contains('/') ? QuoteOf(first) : manualCurrency;

    /// <summary>Null when <paramref name="symbol"/> trades in an account holding <paramref name="accountCurrency"/>, else why not.</summary>
    public static string? CurrencyMismatch(string symbol, string accountCurrency) =>
        QuoteOf(symbol) == accountCurrency ? null : $"{symbol} is quoted in {QuoteOf(symbol)}; this account holds {accountCurrency}";

    /// <summary>A market buy at <paramref name="price"/> of exactly one of a quote amount or a base quantity.</summary>
    public static BuyFill Buy(decimal price, decimal? quoteAmount, decimal? baseQty, decimal feeRate)
    {
        if (price <= 0) throw new ArgumentOutOfRangeException(nameof(price), price, "a price must be positive");
        if (quoteAmount.HasValue == baseQty.HasValue)
            throw new ArgumentException("a buy takes exactly one of quote_amount or base_qty");
        var (qty, quote) = quoteAmount is { } q ? (QtyForQuote(q, price), q) : (baseQty!.Value, Value(baseQty.Value, price));
        return new BuyFill(qty, quote, Round(feeRate * quote));
    }

    /// <summary>
    /// Why an account holding <paramref name="cash"/> cannot make this buy, null when it can: it fills nothing (too small at
    /// the price), or it costs more than the cash (quote + fee: no margin, no overdraw).
    /// </summary>
    public static BuyRefusal? Refusal(BuyFill fill, decimal cash) =>
        fill.Qty == 0 || fill.Quote == 0 ? BuyRefusal.TooSmall : fill.Quote + fill.Fee > cash ? BuyRefusal.InsufficientCash : null;

    /// <summary>An account's cash after a buy: the quote and its fee leave it.</summary>
    public static decimal CashAfter(decimal cash, BuyFill fill) => cash - fill.Quote - fill.Fee;

    /// <summary>An account's cash after a sale: the proceeds come in, less the fee.</summary>
    public static decimal CashAfter(decimal cash, LotSale sale) => cash + sale.Proceeds - sale.Fee;

    /// <summary>The base quantity a quote amount buys or sells at <paramref name="price"/>: quote / P, rounded once (both sides).</summary>
    public static decimal QtyForQuote(decimal quoteAmount, decimal price) =>
        price > 0 ? Round(quoteAmount / price) : throw new ArgumentOutOfRangeException(nameof(price), price, "a price must be positive");

    /// <summary>A quantity valued at <paramref name="price"/>: qty × P, rounded once (quotes, proceeds, position values).</summary>
    public static decimal Value(decimal qty, decimal price) => Round(qty * price);

    /// <summary>How much a sell asks for: <paramref name="baseQty"/>, or what <paramref name="quoteAmount"/> is worth at P, or all held (null).</summary>
    public static decimal? SellQty(decimal? baseQty, decimal? quoteAmount, decimal price) =>
        baseQty ?? (quoteAmount is { } quote ? QtyForQuote(quote, price) : null);

    /// <summary>
    /// A market sell of <paramref name="qty"/> (all of it when null) across open trades, oldest first; the last
    /// trade touched may be sold in part. The caller has checked that <paramref name="qty"/> does not exceed what is held.
    /// </summary>
    public static IReadOnlyList<LotSale> Sell(IReadOnlyList<OpenLot> lotsOldestFirst, decimal? qty, decimal price, decimal feeRate)
    {
        if (price <= 0) throw new ArgumentOutOfRangeException(nameof(price), price, "a price must be positive");
        var left = qty ?? lotsOldestFirst.Sum(l => l.Amount);
        if (left > Held(lotsOldestFirst)) throw new ArgumentException($"cannot sell {left}: only {Held(lotsOldestFirst)} held");
        var sales = new List<LotSale>();
        foreach (var lot in lotsOldestFirst)
        {
            if (left <= 0) break;
            var sold = Math.Min(left, lot.Amount);
            left -= sold;
            sales.Add(SellFrom(lot, sold, price, feeRate));
        }
        return sales;
    }

    public static decimal Held(IEnumerable<OpenLot> lots) => lots.Sum(l => l.Amount);

    /// <summary>Sells <paramref name="qty"/> of one trade at <paramref name="price"/>.</summary>
    public static LotSale SellFrom(OpenLot lot, decimal qty, decimal price, decimal feeRate)
    {
        var proceeds = Value(qty, price);
        var fee = Round(feeRate * proceeds);
        var fees = lot.FeesPaidQuote + fee;
        if (qty == lot.Amount)
        {
            // realized = proceeds − cost basis − all fees; with earlier partial sells, their gross result included.
            var realized = lot.RealizedPnlQuote + proceeds - lot.CostBasisQuote - fees;
            return new LotSale(lot.TradeId, qty, proceeds, fee, Closes: true, 0m, 0m, fees, realized);
        }
        // The share sold first, then the cost basis: cost × qty overflows decimal for a cheap token bought with a large sum.
        var costSold = Round(lot.CostBasisQuote * (qty / lot.Amount));
        return new LotSale(lot.TradeId, qty, proceeds, fee, Closes: false, lot.Amount - qty, lot.CostBasisQuote - costSold, fees,
            lot.RealizedPnlQuote + proceeds - costSold);
    }

    /// <summary>Unrealized PnL of an open trade marked at <paramref name="price"/>: qty × P − cost basis − fees paid.</summary>
    public static decimal Unrealized(decimal qty, decimal price, decimal costBasisQuote, decimal feesPaidQuote) =>
        Value(qty, price) - costBasisQuote - feesPaidQuote;

    private static decimal? Knob(string? knobs, string name) =>
        KnobElement(knobs, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetDecimal(out var number) ? number : null;

    /// <summary>A knob as given in the bot's knobs (a JSON object), null when absent or the knobs are not an object.</summary>
    private static JsonElement? KnobElement(string? knobs, string name)
    {
        if (string.IsNullOrWhiteSpace(knobs)) return null;
        try
        {
            using var document = JsonDocument.Parse(knobs);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(name, out var value)
                ? value.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
