using System.Globalization;
using System.Text.Json;

namespace TradingBots.Strategies;

public enum KnobType
{
    Integer,
    Decimal,
    /// <summary>A string; <see cref="KnobSpec.Min"/> and <see cref="KnobSpec.Max"/> bound its length, or it is one of <see cref="KnobSpec.Choices"/>.</summary>
    Text,
    /// <summary>true or false; a <see cref="KnobSpec.Default"/> of 1 is true, 0 false.</summary>
    Boolean,
}

/// <summary>
/// One knob, declared once: the validation of POST /bots and /bots/{id}/knobs, GET /strategies and the README table all
/// come from this. A knob without a default is optional (absent means "off"), unless <see cref="Required"/>. A text knob
/// with <see cref="Choices"/> takes one of them.
/// </summary>
public sealed record KnobSpec(string Name, KnobType Type, decimal? Default, decimal Min, decimal Max, string Description, bool Required = false,
    IReadOnlyList<string>? Choices = null)
{
    /// <summary>Why <paramref name="value"/> is not a valid value of this knob, or null.</summary>
    public string? Problem(JsonElement value)
    {
        var range = $"from {Text(Min)} to {Text(Max)}";
        if (Type == KnobType.Boolean) return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : "must be true or false";
        if (Choices is { } choices)
        {
            var one = $"must be one of {string.Join(", ", choices)}";
            return value.ValueKind == JsonValueKind.String && choices.Contains(value.GetString()!.Trim()) ? null : one;
        }
        if (Type == KnobType.Text)
        {
            var length = $"{Text(Min)} to {Text(Max)} characters";
            return value.ValueKind != JsonValueKind.String ? $"must be a string of {length}"
                : value.GetString()!.Trim().Length is var chars && (chars < Min || chars > Max) ? $"must be {length} long" : null;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var number))
            return Type == KnobType.Integer ? $"must be an integer {range}" : $"must be a number {range}";
        if (Type == KnobType.Integer && number != decimal.Truncate(number)) return $"must be an integer {range}";
        return number < Min || number > Max ? $"must be {range}" : null;
    }

    private static string Text(decimal value) => (value / 1.000000000000000000000000000000000m).ToString(CultureInfo.InvariantCulture);
}

/// <summary>A bot's knobs as given (a JSON object), read through their declarations: a knob not given has its default.</summary>
public sealed class KnobValues
{
    private readonly Dictionary<string, decimal> _given;
    private readonly Dictionary<string, string> _texts;
    private readonly Dictionary<string, bool> _flags;
    private readonly IReadOnlyDictionary<string, KnobSpec> _specs;
    private readonly Dictionary<string, decimal?> _values;

    public KnobValues(JsonElement knobs, IEnumerable<KnobSpec> specs)
    {
        _specs = specs.ToDictionary(s => s.Name, StringComparer.Ordinal);
        _given = knobs.ValueKind == JsonValueKind.Object
            ? knobs.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetDecimal(out _))
                .ToDictionary(p => p.Name, p => p.Value.GetDecimal(), StringComparer.Ordinal)
            : [];
        _texts = knobs.ValueKind == JsonValueKind.Object
            ? knobs.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String)
                .ToDictionary(p => p.Name, p => p.Value.GetString()!.Trim(), StringComparer.Ordinal)
            : [];
        _flags = knobs.ValueKind == JsonValueKind.Object
            ? knobs.EnumerateObject().Where(p => p.Value.ValueKind is JsonValueKind.True or JsonValueKind.False)
                .ToDictionary(p => p.Name, p => p.Value.GetBoolean(), StringComparer.Ordinal)
            : [];
        // Each declared knob's value, given or default, found in one lookup (a backtest asks for them on every candle).
        _values = _specs.ToDictionary(s => s.Key, s => _given.TryGetValue(s.Key, out var given) ? given : s.Value.Default, StringComparer.Ordinal);
    }

    public static KnobValues Parse(string knobsJson, IEnumerable<KnobSpec> specs)
    {
        using var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(knobsJson) ? "{}" : knobsJson);
        return new KnobValues(document.RootElement, specs);
    }

    /// <summary>The knob's value, its default when not given, null when neither.</summary>
    public decimal? Get(string name) =>
        _values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"no knob '{name}' is declared", nameof(name));

    /// <summary>A text knob's value (trimmed), null when not given.</summary>
    public string? Text(string name) =>
        _specs.ContainsKey(name) ? _texts.GetValueOrDefault(name) : throw new ArgumentException($"no knob '{name}' is declared", nameof(name));

    /// <summary>A boolean knob's value, its default when not given.</summary>
    public bool Flag(string name) =>
        _specs.TryGetValue(name, out var spec) ? _flags.TryGetValue(name, out var given) ? given : spec.Default is { } d && d != 0
            : throw new ArgumentException($"no knob '{name}' is declared", nameof(name));

    public int Integer(string name) => (int)(Get(name) ?? throw new InvalidOperationException($"knob '{name}' has no value"));

    public decimal Decimal(string name) => Get(name) ?? throw new InvalidOperationException($"knob '{name}' has no value");
}

/// <summary>Knobs every bot has, whatever its strategy: how it runs and its paper account.</summary>
public static class BotKnobs
{
    public const string TickSeconds = "tick_seconds", MaxTicks = "max_ticks", StartingCash = "starting_cash", FeeRate = "fee_rate",
        FillModel = "fill_model", SlippageBps = "slippage_bps", ExchangeRules = "exchange_rules";

    public static IReadOnlyList<KnobSpec> All { get; } =
    [
        new(TickSeconds, KnobType.Integer, 5, 1, 86_400, "seconds between two ticks of the bot loop"),
        new(MaxTicks, KnobType.Integer, null, 1, 100_000_000, "the run completes after this many ticks (absent: it runs until stopped)"),
        new(StartingCash, KnobType.Decimal, null, 0.00000001m, 1_000_000_000_000m,
            "the paper account's starting cash, in its quote currency (absent: PAPER_STARTING_CASH); fixed at the first trade"),
        new(FeeRate, KnobType.Decimal, null, 0, 0.999999m, "fee rate of every fill (absent: PAPER_FEE_RATE, 0.001)"),
        new(FillModel, KnobType.Text, null, 0, 0, "the price a market order fills at: last (the ticker's last price; absent: last), bidask "
            + "(a buy at the best ask, a sell at the best bid) or book (the volume-weighted price of the order book levels it takes)",
            Choices: ["last", "bidask", "book"]),
        new(SlippageBps, KnobType.Decimal, null, 0, 1000, "basis points every fill's price moves against the order (absent: 0)"),
        new(ExchangeRules, KnobType.Boolean, 1, 0, 1, "orders obey the exchange's filters: quantity rounded down to its step, refused "
            + "under its minimum quantity or notional, fill price on its tick"),
    ];

    /// <summary>Seconds between two ticks of a bot with these (valid) knobs: what its lease's schedule is written from.</summary>
    public static int Tick(KnobValues knobs) => knobs.Integer(TickSeconds);
}
