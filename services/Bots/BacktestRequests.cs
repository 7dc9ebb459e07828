using System.Globalization;
using System.Text.Json;
using TradingBots.Backtests;
using TradingBots.Strategies;
using TradingBots.Strategies.Users;

namespace TradingBots.Bots;

/// <summary>A POST /backtests body, checked: what to run, on which candles, from how much cash.</summary>
public sealed record NewBacktest(IStrategy Strategy, string Knobs, IReadOnlyList<string> Symbols, string Timeframe, DateTimeOffset From,
    DateTimeOffset To, decimal? StartingCash);

public static class BacktestRequests
{
    /// <summary>A year of one-minute candles: the most one backtest runs (per symbol).</summary>
    public const int MaxCandles = 525_600;

    private const decimal MaxCash = 1_000_000_000_000m;

    private static readonly string[] Fields = ["strategy", "version", "knobs", "symbols", "timeframe", "from", "to", "starting_cash"];

    /// <summary>
    /// The backtest to run, or the problems of the body (field → reasons); the exchange is asked afterwards. <paramref name="more"/>:
    /// the fields a caller reads besides (a search's), not unknown here.
    /// </summary>
    public static (NewBacktest? Backtest, Dictionary<string, string[]> Errors) Parse(JsonElement body, StrategyLookup strategies, DateTimeOffset now,
        long maxCandles, IReadOnlyCollection<string>? more = null)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (body.ValueKind != JsonValueKind.Object) return (null, new() { ["body"] = ["must be a JSON object"] });
        void Fail(string field, string reason) => errors[field] = [reason];

        var strategy = Strategy(body, strategies, Fail);
        var knobs = BotRequests.Optional(body, "knobs") ?? JsonDocument.Parse("{}").RootElement;
        if (strategy is not null) foreach (var (field, reasons) in StrategyRegistry.Validate(strategy, knobs)) errors[field] = reasons;

        var symbols = BotRequests.Symbols(body, Fail);

        var timeframe = BotRequests.Optional(body, "timeframe") is { ValueKind: JsonValueKind.String } t ? t.GetString()! : null;
        var step = timeframe is null ? null : Timeframes.Milliseconds(timeframe);
        if (timeframe is null) Fail("timeframe", "is required (a string)");
        else if (step is null) Fail("timeframe", $"'{timeframe}' is not a backtest timeframe; one of {string.Join(", ", Timeframes.All)}");

        var from = Time(body, "from", step, timeframe, Fail);
        var to = Time(body, "to", step, timeframe, Fail);
        if (from is not null && to is not null && step is not null)
        {
            var candles = (to.Value.ToUnixTimeMilliseconds() - from.Value.ToUnixTimeMilliseconds()) / step.Value;
            if (to <= from) Fail("to", "must be after from");
            else if (to > now) Fail("to", $"{Format(to.Value)} is in the future (now {Format(now)}): a backtest runs on candles that have closed");
            else if (candles > MaxCandles)
                Fail("to", $"the range is {candles:N0} candles of {timeframe}; at most {MaxCandles:N0} (a year of 1m candles): shorten it or take a longer timeframe");
            else if (symbols is not null && symbols.Count * candles > maxCandles)
            {
                var reason = $"{symbols.Count} symbol(s) × {candles:N0} candles of {timeframe} is {symbols.Count * candles:N0} candles; at most {maxCandles:N0} "
                    + "(Backtests__MaxCandles): fewer symbols, a shorter range or a longer timeframe";
                Fail("symbols", reason);
                Fail("to", reason);
            }
        }

        decimal? cash = null;
        switch (BotRequests.Optional(body, "starting_cash"))
        {
            case null: break;
            case { ValueKind: JsonValueKind.Number } c when c.TryGetDecimal(out var value) && value > 0 && value <= MaxCash: cash = value; break;
            default: Fail("starting_cash", $"must be a number above 0 and at most {MaxCash:0}"); break;
        }

        foreach (var field in body.EnumerateObject().Select(p => p.Name).Except(Fields).Except(more ?? [])) Fail(field, "unknown field");

        return errors.Count > 0
            ? (null, errors)
            : (new NewBacktest(strategy!, StrategyRegistry.Normalize(strategy!, knobs), symbols!, timeframe!, from!.Value, to!.Value, cash), errors);
    }

    /// <summary>strategy (a name, or "name@version"; default baseline) and version (its newest when absent); not one that asks a model.</summary>
    private static IStrategy? Strategy(JsonElement body, StrategyLookup strategies, Action<string, string> fail)
    {
        var name = StrategyRegistry.Default;
        switch (BotRequests.Optional(body, "strategy"))
        {
            case null: break;
            case { ValueKind: JsonValueKind.String } s: name = s.GetString()!; break;
            default: fail("strategy", "must be a strategy name, e.g. \"baseline\""); return null;
        }
        switch (BotRequests.Optional(body, "version"))
        {
            case null: break;
            case { ValueKind: JsonValueKind.Number } v when v.TryGetInt32(out var version) && version >= 1 && !name.Contains('@'):
                name = $"{name}@{version}";
                break;
            default: fail("version", "must be a whole number from 1 (and the strategy named without @version)"); return null;
        }
        if (strategies.Find(name) is not { } strategy)
        {
            fail("strategy", strategies.Refusal(name));
            return null;
        }
        if (strategy is IAdvisedStrategy)
        {
            fail("strategy", $"{StrategyRegistry.Key(strategy)} asks a model on every candle, so it cannot be replayed exactly: backtest a rule strategy");
            return null;
        }
        return strategy;
    }

    /// <summary>from / to: an ISO 8601 time with its offset, or Unix milliseconds, on a candle's open time of the timeframe.</summary>
    private static DateTimeOffset? Time(JsonElement body, string field, long? step, string? timeframe, Action<string, string> fail)
    {
        DateTimeOffset? time = BotRequests.Optional(body, field) switch
        {
            { ValueKind: JsonValueKind.String } s when DateTimeOffset.TryParse(s.GetString(), CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal, out var parsed) => parsed.ToUniversalTime(),
            { ValueKind: JsonValueKind.Number } n when n.TryGetInt64(out var ms) && ms >= 0 && ms <= 253_402_300_799_999 =>
                DateTimeOffset.FromUnixTimeMilliseconds(ms),
            _ => null,
        };
        if (time is null)
        {
            fail(field, "is required: an ISO 8601 time such as \"2026-11-25T00:00:00Z\", or Unix milliseconds");
            return null;
        }
        if (step is { } ms2 && time.Value.ToUnixTimeMilliseconds() % ms2 != 0)
        {
            var floor = DateTimeOffset.FromUnixTimeMilliseconds(time.Value.ToUnixTimeMilliseconds() / ms2 * ms2);
            fail(field, $"{Format(time.Value)} is not the open time of a {timeframe} candle (a whole multiple of {timeframe} since 1970-01-01 UTC), e.g. {Format(floor)}");
            return null;
        }
        return time;
    }

    private static string Format(DateTimeOffset time) =>
        time.ToUniversalTime().ToString(time.Millisecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
