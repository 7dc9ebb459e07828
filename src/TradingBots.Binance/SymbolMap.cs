namespace TradingBots.Binance;

/// <summary>
/// Unified symbols (BTC/USDT) ↔ Binance symbols (BTCUSDT), built from /api/v3/exchangeInfo's baseAsset and
/// quoteAsset — never by cutting strings, which would fail for symbols like 1000SATSUSDT.
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

    public bool TryGetExchangeSymbol(string unified, out string exchangeSymbol)
    {
        exchangeSymbol = _byUnified.TryGetValue(unified, out var symbol) ? symbol.Symbol : "";
        return exchangeSymbol.Length > 0;
    }

    public string UnifiedOf(string exchangeSymbol) =>
        _byExchange.TryGetValue(exchangeSymbol, out var symbol) ? symbol.Unified : exchangeSymbol;
}
