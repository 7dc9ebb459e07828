using System.Text.Json;
using System.Text.RegularExpressions;

namespace TradingBots.Runner;

/// <summary>A resource of aspire-manifest.json: its name, its type (project.v0, container.v0, …) and its JSON.</summary>
public sealed record ManifestResource(string Name, string Type, JsonElement Json)
{
    public string? this[string property] =>
        Json.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public bool IsProject => Type.StartsWith("project.", StringComparison.Ordinal);
    public bool IsContainer => Type.StartsWith("container.", StringComparison.Ordinal);
    public bool IsParameter => Type.StartsWith("parameter.", StringComparison.Ordinal);

    public IEnumerable<string> BindingNames =>
        Json.TryGetProperty("bindings", out var bindings) ? bindings.EnumerateObject().Select(b => b.Name) : [];

    public string? BindingString(string binding, string property) =>
        Json.TryGetProperty("bindings", out var bindings) && bindings.TryGetProperty(binding, out var b)
        && b.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public int? BindingInt(string binding, string property) =>
        Json.TryGetProperty("bindings", out var bindings) && bindings.TryGetProperty(binding, out var b)
        && b.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : null;

    public IEnumerable<KeyValuePair<string, string>> Env =>
        Json.TryGetProperty("env", out var env)
            ? env.EnumerateObject().Select(e => KeyValuePair.Create(e.Name, e.Value.ToString()))
            : [];
}

public sealed class Manifest
{
    public required string Path { get; init; }
    public required IReadOnlyList<ManifestResource> Resources { get; init; }

    public string Directory => System.IO.Path.GetDirectoryName(Path)!;

    public ManifestResource this[string name] =>
        Resources.FirstOrDefault(r => r.Name == name) ?? throw new RunnerException($"the manifest has no resource '{name}'");

    public static Manifest Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var resources = document.RootElement.GetProperty("resources").EnumerateObject()
            .Select(r => new ManifestResource(r.Name, r.Value.GetProperty("type").GetString()!, r.Value.Clone()))
            .ToList();
        return new Manifest { Path = System.IO.Path.GetFullPath(path), Resources = resources };
    }
}

/// <summary>
/// Resolves the manifest's expressions: <c>{res.connectionString}</c>, <c>{res.value}</c>, <c>{param.value}</c>,
/// <c>{param.inputs.value}</c> and <c>{res.bindings.name.host|port|targetPort|url|scheme}</c>; an
/// <c>annotated.string</c> with <c>"filter": "uri"</c> (the *-uri-encoded passwords) is percent-encoded. A resolved
/// connection string passes through <paramref name="localize"/> (the local servers' own role, database and virtual host).
/// </summary>
public sealed partial class ExpressionResolver(Manifest manifest, Func<string, string, Endpoint> endpoint, Func<ManifestResource, string> parameter,
    Func<ManifestResource, string, string>? localize = null)
{
    [GeneratedRegex(@"\{([^{}]+)\}")]
    private static partial Regex Expression();

    public string Resolve(string template, int depth = 0) =>
        depth > 16 ? throw new RunnerException($"expression nesting too deep in '{template}'")
            : Expression().Replace(template, match => Evaluate(match.Groups[1].Value, depth));

    private string Evaluate(string expression, int depth)
    {
        var parts = expression.Split('.');
        var resource = manifest[parts[0]];
        return parts[1..] switch
        {
            ["connectionString"] => Localize(resource, Resolve(resource["connectionString"]
                ?? throw new RunnerException($"'{resource.Name}' has no connectionString"), depth + 1)),
            ["value"] or ["inputs", _] when resource.IsParameter => parameter(resource),
            ["value"] => Filter(resource, Resolve(resource["value"]
                ?? throw new RunnerException($"'{resource.Name}' has no value"), depth + 1)),
            ["bindings", var binding, var property] => endpoint(resource.Name, binding).Get(property)
                ?? throw new RunnerException($"unsupported binding property in {{{expression}}}"),
            _ => throw new RunnerException($"unsupported manifest expression {{{expression}}}"),
        };
    }

    private string Localize(ManifestResource resource, string connectionString) =>
        localize is null ? connectionString : localize(resource, connectionString);

    private static string Filter(ManifestResource resource, string value) => resource["filter"] switch
    {
        null => value,
        "uri" => Uri.EscapeDataString(value),
        var filter => throw new RunnerException($"unsupported filter '{filter}' on '{resource.Name}'"),
    };
}

/// <summary>Where a resource's binding is reachable on this machine.</summary>
public sealed record Endpoint(string Scheme, string Host, int Port)
{
    public string Url => $"{Scheme}://{Host}:{Port}";

    public string? Get(string property) => property switch
    {
        "host" => Host,
        "port" or "targetPort" => Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "url" => Url,
        "scheme" => Scheme,
        _ => null,
    };
}

public sealed class RunnerException(string message) : Exception(message);
