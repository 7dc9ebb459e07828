using System.Text.Json;
using System.Text.Json.Serialization;

namespace TradingBots.Binance;

/// <summary>
/// A symbol's trading rules, from the filters /api/v3/exchangeInfo lists for it (Binance's Spot API "Filters" page).
/// Every value is null when the symbol has no such filter: real symbols may lack some, so a rule that is null is not
/// checked. An order passes PRICE_FILTER when MinPrice ≤ price ≤ MaxPrice and price is a multiple of TickSize; LOT_SIZE
/// (and MARKET_LOT_SIZE for MARKET orders) when MinQty ≤ quantity ≤ MaxQty and quantity is a multiple of StepSize;
/// NOTIONAL when NotionalMin ≤ price × quantity ≤ NotionalMax; MIN_NOTIONAL when MinNotional ≤ price × quantity.
/// For MARKET orders the notional filters apply only where their apply…ToMarket flag is true (Binance then prices the
/// order at the average price of the last avgPriceMins minutes).
/// </summary>
public sealed record SymbolFilters
{
    /// <summary>No filter at all.</summary>
    public static SymbolFilters None { get; } = new();

    /// <summary>PRICE_FILTER minPrice: the lowest price (and stopPrice) allowed. Null also when 0, which Binance documents as "rule disabled".</summary>
    public decimal? MinPrice { get; init; }

    /// <summary>PRICE_FILTER maxPrice: the highest price (and stopPrice) allowed. Null also when 0 (disabled).</summary>
    public decimal? MaxPrice { get; init; }

    /// <summary>PRICE_FILTER tickSize: prices are multiples of it. Null also when 0 (disabled).</summary>
    public decimal? TickSize { get; init; }

    /// <summary>LOT_SIZE minQty: the smallest quantity (base asset) of an order.</summary>
    public decimal? MinQty { get; init; }

    /// <summary>LOT_SIZE maxQty: the largest quantity of an order.</summary>
    public decimal? MaxQty { get; init; }

    /// <summary>LOT_SIZE stepSize: quantities are multiples of it.</summary>
    public decimal? StepSize { get; init; }

    /// <summary>MARKET_LOT_SIZE minQty: the smallest quantity of a MARKET order (0 on most symbols).</summary>
    public decimal? MarketMinQty { get; init; }

    /// <summary>MARKET_LOT_SIZE maxQty: the largest quantity of a MARKET order.</summary>
    public decimal? MarketMaxQty { get; init; }

    /// <summary>MARKET_LOT_SIZE stepSize: MARKET quantities are multiples of it (0 on most symbols: LOT_SIZE's step rules).</summary>
    public decimal? MarketStepSize { get; init; }

    /// <summary>NOTIONAL minNotional: the smallest price × quantity (quote asset) of an order.</summary>
    public decimal? NotionalMin { get; init; }

    /// <summary>NOTIONAL applyMinToMarket: whether <see cref="NotionalMin"/> also binds MARKET orders.</summary>
    public bool? NotionalApplyMinToMarket { get; init; }

    /// <summary>NOTIONAL maxNotional: the largest price × quantity of an order.</summary>
    public decimal? NotionalMax { get; init; }

    /// <summary>NOTIONAL applyMaxToMarket: whether <see cref="NotionalMax"/> also binds MARKET orders.</summary>
    public bool? NotionalApplyMaxToMarket { get; init; }

    /// <summary>MIN_NOTIONAL minNotional: the older filter's smallest price × quantity (NOTIONAL replaced it on most symbols).</summary>
    public decimal? MinNotional { get; init; }

    /// <summary>MIN_NOTIONAL applyToMarket: whether <see cref="MinNotional"/> also binds MARKET orders.</summary>
    public bool? MinNotionalApplyToMarket { get; init; }

    internal static SymbolFilters From(IEnumerable<BinanceFilter?> filters)
    {
        var rules = None;
        foreach (var filter in filters)
        {
            rules = filter?.FilterType switch
            {
                "PRICE_FILTER" => rules with
                {
                    MinPrice = Enabled(filter.MinPrice), MaxPrice = Enabled(filter.MaxPrice), TickSize = Enabled(filter.TickSize),
                },
                "LOT_SIZE" => rules with { MinQty = filter.MinQty, MaxQty = filter.MaxQty, StepSize = filter.StepSize },
                "MARKET_LOT_SIZE" => rules with
                {
                    MarketMinQty = filter.MinQty, MarketMaxQty = filter.MaxQty, MarketStepSize = filter.StepSize,
                },
                "NOTIONAL" => rules with
                {
                    NotionalMin = filter.MinNotional, NotionalApplyMinToMarket = filter.ApplyMinToMarket,
                    NotionalMax = filter.MaxNotional, NotionalApplyMaxToMarket = filter.ApplyMaxToMarket,
                },
                "MIN_NOTIONAL" => rules with { MinNotional = filter.MinNotional, MinNotionalApplyToMarket = filter.ApplyToMarket },
                _ => rules,
            };
        }
        return rules;
    }

    // PRICE_FILTER: "Any of the above variables can be set to 0, which disables that rule".
    private static decimal? Enabled(decimal? value) => value == 0 ? null : value;
}

/// <summary>Reads a symbol's <c>filters</c> array into <see cref="SymbolFilters"/> (exchangeInfo is only read, never written).</summary>
internal sealed class SymbolFiltersJsonConverter : JsonConverter<SymbolFilters>
{
    public override SymbolFilters Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        SymbolFilters.From(JsonSerializer.Deserialize(ref reader, BinanceJson.Default.ListBinanceFilter) ?? []);

    public override void Write(Utf8JsonWriter writer, SymbolFilters value, JsonSerializerOptions options) =>
        throw new NotSupportedException("Symbol filters are only read.");
}
