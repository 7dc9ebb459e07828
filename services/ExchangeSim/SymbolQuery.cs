using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace TradingBots.ExchangeSim;

/// <summary>
/// Binance's <c>symbol=BTCUSDT</c> / <c>symbols=["BTCUSDT","ETHUSDT"]</c> / neither (every symbol) parameters.
/// </summary>
public static partial class SymbolQuery
{
    /// <summary>What a request selects: <see cref="Symbols"/>, one of them named by <c>symbol</c> if <see cref="Single"/>.</summary>
    public sealed record Selection(IReadOnlyList<SymbolSpec> Symbols, bool Single);

    /// <summary>Resolves the parameters as Binance does, or gives the error Binance gives.</summary>
    public static bool TryResolve(
        string? symbol, string? symbols,
        [NotNullWhen(true)] out Selection? selection, [NotNullWhen(false)] out BinanceError? error)
    {
        (selection, error) = Resolve(symbol, symbols);
        return selection is not null;
    }

    private static (Selection?, BinanceError?) Resolve(string? symbol, string? symbols)
    {
        if (symbol is not null && symbols is not null) return (null, BinanceError.BadCombination);
        if (symbol is not null)
        {
            if (!SymbolPattern().IsMatch(symbol)) return (null, BinanceError.IllegalChars("symbol", BinanceError.SymbolRange));
            return SymbolCatalog.Find(symbol) is { } spec ? (new Selection([spec], true), null) : (null, BinanceError.InvalidSymbol);
        }
        if (symbols is null) return (new Selection(SymbolCatalog.All, false), null);

        if (ParseList(symbols) is not { } names || names.Any(n => !SymbolPattern().IsMatch(n)))
            return (null, BinanceError.IllegalChars("symbols", BinanceError.SymbolsRange));
        if (names.Distinct().Count() != names.Count) return (null, BinanceError.DuplicateValues);
        var specs = names.Select(SymbolCatalog.Find).OfType<SymbolSpec>().ToList();
        return specs.Count == names.Count ? (new Selection(specs, false), null) : (null, BinanceError.InvalidSymbol);
    }

    /// <summary>
    /// The symbol names a request mentions, without validating them; null when it names none (so it reads them all).
    /// An unreadable list names nothing.
    /// </summary>
    public static IReadOnlyList<string>? Named(string? symbol, string? symbols) =>
        symbol is not null ? [symbol] : symbols is not null ? ParseList(symbols) ?? [] : null;

    private static List<string>? ParseList(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Array) return null;
            var names = new List<string>();
            foreach (var item in document.RootElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String) return null;
                names.Add(item.GetString()!);
            }
            return names;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // BinanceError.SymbolRange, spelled unambiguously.
    [GeneratedRegex(@"\A[A-Z0-9_.\-]{1,20}\z")]
    private static partial Regex SymbolPattern();
}
