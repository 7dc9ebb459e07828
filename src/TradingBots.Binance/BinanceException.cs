namespace TradingBots.Binance;

public enum BinanceErrorKind
{
    /// <summary>Binance -1121: the symbol is not listed.</summary>
    UnknownSymbol,
    /// <summary>Binance -1120: not one of Binance's kline intervals.</summary>
    BadInterval,
    /// <summary>Any other 4xx with a Binance error body (bad parameter, …).</summary>
    BadRequest,
    /// <summary>HTTP 429 or 418 (IP banned); <see cref="BinanceException.RetryAfter"/> says when to come back.</summary>
    RateLimited,
    /// <summary>HTTP 5xx: the exchange failed.</summary>
    ExchangeError,
    /// <summary>No connection, reset, DNS failure.</summary>
    Network,
    /// <summary>No answer within <see cref="BinanceOptions.RequestTimeout"/>.</summary>
    Timeout,
    /// <summary>An answer that is not the JSON Binance documents.</summary>
    Malformed,
}

public sealed class BinanceException(BinanceErrorKind kind, string message, int? code = null, TimeSpan? retryAfter = null,
    Exception? inner = null) : Exception(message, inner)
{
    public BinanceErrorKind Kind { get; } = kind;

    /// <summary>Binance's error code from <c>{"code": -1121, "msg": "..."}</c>, when the body had one.</summary>
    public int? Code { get; } = code;

    public TimeSpan? RetryAfter { get; } = retryAfter;
}
