using System.Text.Json;
using TradingBots.Backtests;
using TradingBots.Strategies;
using TradingBots.Strategies.Users;

namespace TradingBots.Bots;

/// <summary>A POST /optimizations body, checked: a backtest's fields (what, on which candles, from how much cash) and the search.</summary>
public static class OptimizationRequests
{
    /// <summary>Walk-forward folds at most.</summary>
    public const int MaxFolds = 10;

    private static readonly string[] Fields = ["ranges", "search", "trials", "seed", "metric", "folds"];

    public static (NewBacktest? Backtest, SearchSpec? Search, Dictionary<string, string[]> Errors) Parse(JsonElement body, StrategyLookup strategies, DateTimeOffset now,
        long maxCandles)
    {
        var (backtest, errors) = BacktestRequests.Parse(body, strategies, now, maxCandles, Fields);
        if (body.ValueKind != JsonValueKind.Object) return (null, null, errors);
        void Fail(string field, string reason) => errors[field] = [reason];

        var search = BotRequests.Optional(body, "search") switch
        {
            null => SearchSpec.Grid,
            { ValueKind: JsonValueKind.String } s when s.GetString() is SearchSpec.Grid or SearchSpec.Random => s.GetString()!,
            _ => null,
        };
        if (search is null) Fail("search", "must be \"grid\" (every combination) or \"random\" (trials drawn with seed)");
        var trials = Integer(body, "trials", 1, Optimizer.MaxTrials, Fail);
        if (trials is not null && search == SearchSpec.Grid) Fail("trials", "a grid tries every combination: trials is for \"search\": \"random\"");
        var seed = Integer(body, "seed", 0, int.MaxValue, Fail) ?? 0;
        var folds = Integer(body, "folds", 0, MaxFolds, Fail) ?? 0;
        var metric = BotRequests.Optional(body, "metric") switch
        {
            null => Metrics.Sharpe,
            { ValueKind: JsonValueKind.String } m when Metrics.All.Contains(m.GetString()!) => m.GetString()!,
            _ => null,
        };
        if (metric is null) Fail("metric", $"must be one of {string.Join(", ", Metrics.All)}");

        var ranges = Ranges(body, backtest?.Strategy, Fail);
        if (ranges is not null && search == SearchSpec.Grid && ranges.Aggregate(1L, (n, r) => n * r.Values().Count) is var combinations && combinations > Optimizer.MaxTrials)
            Fail("ranges", $"the grid has {combinations:N0} combinations; at most {Optimizer.MaxTrials:N0}: widen the steps, or search at random");
        if (backtest is not null && folds > 0 && Timeframes.Milliseconds(backtest.Timeframe) is { } step
            && (backtest.To - backtest.From).TotalMilliseconds / step < 2 * (folds + 1))
            Fail("folds", $"{folds} folds need {folds + 1} windows of at least 2 candles: a longer range or fewer folds");

        return errors.Count > 0 ? (null, null, errors) : (backtest, new SearchSpec(ranges!, search!, trials, seed, metric!, folds), errors);
    }

    /// <summary>ranges: [{"knob", "from", "to", "step"}] over the strategy's own numeric knobs, within their declared ranges.</summary>
    private static List<KnobRange>? Ranges(JsonElement body, IStrategy? strategy, Action<string, string> fail)
    {
        if (BotRequests.Optional(body, "ranges") is not { ValueKind: JsonValueKind.Array } array || array.GetArrayLength() == 0)
        {
            fail("ranges", "is required: an array of {\"knob\", \"from\", \"to\", \"step\"}, e.g. [{\"knob\": \"fast\", \"from\": 5, \"to\": 15, \"step\": 1}]");
            return null;
        }
        if (strategy is null) return null;
        var specs = strategy.Knobs.Where(k => k.Type is KnobType.Integer or KnobType.Decimal).ToDictionary(k => k.Name, StringComparer.Ordinal);
        var ranges = new List<KnobRange>();
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            var field = $"ranges[{i++}]";
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("knob", out var name) || name.ValueKind != JsonValueKind.String
                || !specs.TryGetValue(name.GetString()!, out var spec))
            {
                fail(field, $"knob must name a numeric knob of {StrategyRegistry.Key(strategy)}: {string.Join(", ", specs.Keys)}");
                continue;
            }
            decimal? Number(string part) => item.TryGetProperty(part, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDecimal(out var d) ? d : null;
            var (from, to, step) = (Number("from"), Number("to"), Number("step"));
            if (from is null || to is null || step is null || step <= 0 || to < from)
                fail(field, "from, to and step must be numbers, step above 0 and to at least from");
            else if (from < spec.Min || to > spec.Max)
                fail(field, $"{spec.Name} is from {Text(spec.Min)} to {Text(spec.Max)}");
            else if (spec.Type == KnobType.Integer && (from % 1 != 0 || step % 1 != 0))
                fail(field, $"{spec.Name} is an integer: from and step must be whole numbers");
            else if (ranges.Any(r => r.Knob == spec.Name))
                fail(field, $"{spec.Name} has a range already");
            else ranges.Add(new KnobRange(spec.Name, from.Value, to.Value, step.Value));
        }
        return ranges;
    }

    private static int? Integer(JsonElement body, string field, int min, int max, Action<string, string> fail)
    {
        switch (BotRequests.Optional(body, field))
        {
            case null: return null;
            case { ValueKind: JsonValueKind.Number } n when n.TryGetInt32(out var value) && value >= min && value <= max: return value;
            default: fail(field, $"must be a whole number from {min} to {max}"); return null;
        }
    }

    private static string Text(decimal value) => (value / 1.000000000000000000000000000000000m).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
