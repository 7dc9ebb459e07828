using System.Data.Common;
using System.Globalization;

namespace TradingBots.Runner;

/// <summary>
/// The local stand-ins for the AppHost's container resources: the Debian servers servers.sh starts on loopback, and
/// Ollama at OLLAMA_BASE_URL when set. Each instance of the topology (its port offset) has its own share of them, so a
/// test run or a benchmark never touches the system a user runs (offset 0):
/// <list type="bullet">
/// <item>PostgreSQL: the machine's cluster on 5432 for instance 0, database <c>tradingbots</c> owned by the project's own
/// role <see cref="DatabaseRole"/> (no other role is ever used or changed); for any other instance a cluster of its own on
/// 5432 + offset (which its tests may stop), database <c>tradingbots_{offset}</c>;</item>
/// <item>Redis: its own server on 6379 + offset (pub/sub channels are global to a server), stopped only by whoever started it;</item>
/// <item>RabbitMQ: the machine's node on 5672 for instance 0, virtual host <c>tradingbots</c>; for any other instance a node
/// of its own on 5673 + offset (which its tests may stop; 5672 + offset would be RabbitMQ's management port 15672 for the
/// tests and the shared node's distribution port 25672 for the benchmark), virtual host <c>tradingbots-{offset}</c>.</item>
/// </list>
/// </summary>
public sealed class LocalServers(Manifest manifest, int portOffset)
{
    public const string Host = "127.0.0.1";
    public const int PostgresBasePort = 5432, RedisBasePort = 6379, AmqpBasePort = 5672;

    /// <summary>The project's own PostgreSQL login role (created by servers.sh, with CREATEDB).</summary>
    public static string DatabaseRole => Environment.GetEnvironmentVariable("TRADINGBOTS_DB_ROLE") is { Length: > 0 } role ? role : "tradingbots";

    public static string DatabasePassword =>
        Environment.GetEnvironmentVariable("TRADINGBOTS_DB_PASSWORD") is { Length: > 0 } password ? password : "tradingbots";

    public int PortOffset { get; } = portOffset;

    public int PostgresPort => PostgresBasePort + PortOffset;

    public int RedisPort => RedisBasePort + PortOffset;

    public int AmqpPort => PortOffset == 0 ? AmqpBasePort : AmqpBasePort + 1 + PortOffset;

    public string VirtualHost => PortOffset == 0 ? "tradingbots" : $"tradingbots-{PortOffset}";

    /// <summary>This instance's name for a database of the manifest.</summary>
    public string DatabaseName(string manifestName) => PortOffset == 0 ? manifestName : $"{manifestName}_{PortOffset}";

    /// <summary>Runs servers.sh for this instance (install when missing, start idempotently; or "stop redis|postgres|rabbitmq") and fails with its output.</summary>
    public async Task RunScriptAsync(TextWriter log, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(manifest.Directory, "src", "TradingBots.Runner", "servers.sh"));
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["PG_PORT"] = PostgresPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["REDIS_PORT"] = RedisPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["AMQP_PORT"] = AmqpPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["TRADINGBOTS_DB_ROLE"] = DatabaseRole;
        start.Environment["TRADINGBOTS_DB_PASSWORD"] = DatabasePassword;
        start.Environment["RABBITMQ_VHOST"] = VirtualHost;
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

    /// <summary>
    /// Drops this instance's databases, so a test run or benchmark starts from an empty schema that the migrations
    /// create. Never for instance 0: that is the user's system.
    /// </summary>
    public Task DropDatabasesAsync(TextWriter log)
    {
        if (PortOffset == 0) throw new RunnerException("the databases of instance 0 are the user's: they are never dropped");
        var databases = manifest.Resources.Where(ParentIsPostgres).Select(r => DatabaseName(r.Name));
        return RunScriptAsync(log, ["drop-database", .. databases]);
    }

    public Endpoint EndpointOf(ManifestResource container, string binding)
    {
        var scheme = container.BindingString(binding, "scheme") ?? "tcp";
        return (Kind(container), binding) switch
        {
            ("postgres", _) => new Endpoint(scheme, Host, PostgresPort),
            ("redis", _) => new Endpoint(scheme, Host, RedisPort),
            ("rabbitmq", _) => new Endpoint(scheme, Host, AmqpPort),
            ("ollama", _) => Ollama(),
            _ => throw new RunnerException($"no local server for container '{container.Name}' ({container["image"]})"),
        };
    }

    /// <summary>The local servers' credentials, standing in for the AppHost's generated passwords.</summary>
    public static string ParameterValue(ManifestResource parameter) => parameter.Name switch
    {
        $"{ResourceNames.Postgres}-password" => DatabasePassword,
        $"{ResourceNames.RabbitMq}-password" => "guest",
        $"{ResourceNames.Redis}-password" => "",
        _ => throw new RunnerException($"no local value for parameter '{parameter.Name}'"),
    };

    /// <summary>
    /// A connection string of the manifest, made to fit this instance's share of the local servers: PostgreSQL as the
    /// project's role (the container's user is its superuser; here it is a role of our own), the instance's database,
    /// and its RabbitMQ virtual host. Everything else is as the manifest declares it.
    /// </summary>
    public string Localize(ManifestResource resource, string connectionString)
    {
        switch (resource.IsContainer ? Kind(resource) : null)
        {
            case "postgres":
                // Database=postgres: without one, Npgsql would pick the database named like the role (the user's).
                return With(connectionString, ("Username", DatabaseRole), ("Password", DatabasePassword), ("Database", "postgres"));
            case "rabbitmq":
                return new UriBuilder(connectionString) { Path = "/" + Uri.EscapeDataString(VirtualHost) }.Uri.ToString().TrimEnd('/');
        }
        if (!ParentIsPostgres(resource)) return connectionString;
        var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        return builder.TryGetValue("Database", out var database) && database is string name
            ? With(connectionString, ("Database", DatabaseName(name)))
            : connectionString;
    }

    private bool ParentIsPostgres(ManifestResource resource) =>
        resource["connectionString"] is { } template && template.StartsWith('{') && template.IndexOf('.') is > 1 and var dot
        && manifest.Resources.FirstOrDefault(r => r.Name == template[1..dot]) is { IsContainer: true } parent && Kind(parent) == "postgres";

    private static string With(string connectionString, params (string Key, string Value)[] values)
    {
        var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        foreach (var (key, value) in values) builder[key] = value;
        return builder.ConnectionString;
    }

    private static string? Kind(ManifestResource container) =>
        new[] { "postgres", "redis", "rabbitmq", "ollama" }.FirstOrDefault(kind => (container["image"] ?? "").Contains(kind, StringComparison.Ordinal));

    private static Endpoint Ollama()
    {
        var url = new Uri(Environment.GetEnvironmentVariable("OLLAMA_BASE_URL") is { Length: > 0 } configured
            ? configured : $"http://{Host}:11434");
        return new Endpoint(url.Scheme, url.Host, url.Port);
    }
}
