namespace TradingBots.ExchangeSim;

/// <summary>Binance's error payload: <c>{"code": -1121, "msg": "Invalid symbol."}</c>.</summary>
public sealed record BinanceError(int Code, string Msg)
{
    /// <summary>Binance's pattern for one symbol.</summary>
    public const string SymbolRange = "^[A-Z0-9-_.]{1,20}$";

    public const string SymbolsRange = """^\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\]$""";

    public const string NumberRange = "^[0-9]{1,20}$";

    public static readonly BinanceError Unknown = new(-1000, "An unknown error occurred while processing the request.");
    public static readonly BinanceError TooManyRequests = new(-1003, "Too many requests queued.");
    public static readonly BinanceError DuplicateValues = new(-1101, "Duplicate values for a parameter detected.");
    public static readonly BinanceError InvalidInterval = new(-1120, "Invalid interval.");
    public static readonly BinanceError InvalidSymbol = new(-1121, "Invalid symbol.");
    public static readonly BinanceError BadCombination = new(-1128, "Combination of optional parameters invalid.");

    public static BinanceError IllegalChars(string parameter, string range) =>
        new(-1100, $"Illegal characters found in parameter '{parameter}'; legal range is '{range}'.");

    public static BinanceError Mandatory(string parameter) =>
        new(-1102, $"Mandatory parameter '{parameter}' was not sent, was empty/null, or malformed.");

    public static BinanceError InvalidParameter(string parameter) =>
        new(-1130, $"Data sent for parameter '{parameter}' is not valid.");
}
