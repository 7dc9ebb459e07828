namespace TradingBots.Runner;

/// <summary>
/// The local stand-ins for the AppHost's container resources: the Debian servers servers.sh starts on loopback,
/// and Ollama at OLLAMA_BASE_URL when set.
/// </summary>
public static class LocalServers
{
    public const string Host = "127.0.0.1";

    /// <summary>Runs servers.sh (install when missing, start idempotently; or "stop redis") and fails with its output.</summary>
    public static async Task RunScriptAsync(Manifest manifest, TextWriter log, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(manifest.Directory, "src", "TradingBots.Runner", "servers.sh"));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var script = System.Diagnostics.Process.Start(start)!;
        var output = script.StandardOutput.ReadToEndAsync();
        var errors = script.StandardError.ReadToEndAsync();
        await script.WaitForExitAsync();
        log.Write(await output);
        if (script.ExitCode != 0)
        {
            throw new RunnerException($"servers.sh {string.Join(' ', arguments)} failed: {await errors}");
        }
    }

    public static Endpoint EndpointOf(ManifestResource container, string binding)
    {
        var image = container["image"] ?? "";
        var scheme = container.BindingString(binding, "scheme") ?? "tcp";
        return (image, binding) switch
        {
            _ when image.Contains("postgres", StringComparison.Ordinal) => new Endpoint(scheme, Host, 5432),
            _ when image.Contains("redis", StringComparison.Ordinal) => new Endpoint(scheme, Host, 6379),
            _ when image.Contains("rabbitmq", StringComparison.Ordinal) && binding == "management" => new Endpoint(scheme, Host, 15672),
            _ when image.Contains("rabbitmq", StringComparison.Ordinal) => new Endpoint(scheme, Host, 5672),
            _ when image.Contains("ollama", StringComparison.Ordinal) => Ollama(),
            _ => throw new RunnerException($"no local server for container '{container.Name}' ({image})"),
        };
    }

    /// <summary>The local servers' credentials, standing in for the AppHost's generated passwords.</summary>
    public static string ParameterValue(ManifestResource parameter) => parameter.Name switch
    {
        $"{ResourceNames.Postgres}-password" => Environment.GetEnvironmentVariable("PG_PASSWORD") ?? "postgres",
        $"{ResourceNames.RabbitMq}-password" => "guest",
        $"{ResourceNames.Redis}-password" => "",
        _ => throw new RunnerException($"no local value for parameter '{parameter.Name}'"),
    };

    private static Endpoint Ollama()
    {
        var url = new Uri(Environment.GetEnvironmentVariable("OLLAMA_BASE_URL") is { Length: > 0 } configured
            ? configured : $"http://{Host}:11434");
        return new Endpoint(url.Scheme, url.Host, url.Port);
    }
}
