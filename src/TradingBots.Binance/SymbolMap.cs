using System.Diagnostics.CodeAnalysis;

namespace TradingBots.Binance;

/// <summary>
/// Unified symbols (BTC/USDT) ↔ Binance symbols (BTCUSDT), built from /api/v3/exchangeInfo's baseAsset and
/// quoteAsset — never by cutting strings, which would fail for symbols like 1000SATSUSDT — and each listed symbol's
/// trading rules (<see cref="SymbolFilters"/>). Only symbols in status TRADING are listed.
/// </summary>
public sealed class SymbolMap
{
    private readonly Dictionary<string, BinanceSymbol> _byUnified;
    private readonly Dictionary<string, BinanceSymbol> _byExchange;

    public SymbolMap(IEnumerable<BinanceSymbol> symbols)
    {
        var trading = symbols.Where(s => s.Status == "TRADING").ToList();
        _byUnified = trading.ToDictionary(s => s.Unified, StringComparer.Ordinal);
        _byExchange = trading.ToDictionary(s => s.Symbol, StringComparer.Ordinal);
    }

    public int Count => _byUnified.Count;

    /// <summary>The listed symbols, by exchange symbol.</summary>
    public IReadOnlyCollection<BinanceSymbol> Symbols => _byExchange.Values;

    /// <summary>The listed symbol with this exchange symbol (BTCUSDT), with its assets and filters.</summary>
    public bool TryGetSymbol(string exchangeSymbol, [NotNullWhen(true)] out BinanceSymbol? symbol) =>
        _byExchange.TryGetValue(exchangeSymbol, out symbol);

    /// <summary>The trading rules of a listed symbol (BTCUSDT); null when it is not listed.</summary>
    public SymbolFilters? FiltersOf(string exchangeSymbol) =>
        _byExchange.TryGetValue(exchangeSymbol, out var symbol) ? symbol.Filters : null;

    public bool TryGetExchangeSymbol(string unified, out string exchangeSymbol)
    {
        exchangeSymbol = _byUnified.TryGetValue(unified, out var symbol) ? symbol.Symbol : "";
        return exchangeSymbol.Length > 0;
    }

    public string UnifiedOf(string exchangeSymbol) =>
        _byExchange.TryGetValue(exchangeSymbol, out var symbol) ? symbol.Unified : exchangeSymbol;
}
