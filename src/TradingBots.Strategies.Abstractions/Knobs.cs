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
