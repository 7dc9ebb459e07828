using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace TradingBots.AppHost;

/// <summary>
/// PostgreSQL, Redis and RabbitMQ for the topology, under the same resource names and connection strings whichever way
/// they run (<c>Servers:Mode</c>): Aspire's container resources where a container runtime is healthy, else the Debian
/// packages' servers run as executable resources (<see cref="LocalServers"/>). <c>auto</c> (the default) picks, and
/// says which and why on the console.
/// </summary>
public sealed record Servers(
    IResourceBuilder<IResourceWithConnectionString> Database, IResourceBuilder<IResource> DatabaseServer,
    IResourceBuilder<IResourceWithConnectionString> Redis, IResourceBuilder<IResourceWithConnectionString> RabbitMq,
    ReferenceExpression OllamaUrl)
{
    public static Servers Add(IDistributedApplicationBuilder builder)
    {
        // Publishing describes what a deployment runs: containers, whatever this machine has.
        var (local, why) = builder.ExecutionContext.IsPublishMode ? (false, "publishing") : Choose(builder.Configuration["Servers:Mode"] ?? "auto");
        Console.WriteLine($"servers: {(local ? "local (Debian packages as executables)" : "containers")}: {why}");
        return local ? LocalServers.Add(builder) : Containers(builder);
    }

    /// <summary>Local or containers, and why: as configured, or (auto) whether a container runtime answers.</summary>
    private static (bool Local, string Why) Choose(string mode) => mode switch
    {
        "local" => (true, "Servers:Mode is local"),
        "containers" => (false, "Servers:Mode is containers"),
        "auto" => ContainerRuntime() is { } runtime
            ? (false, $"a container runtime answers ({runtime}); Servers:Mode=local runs the Debian packages instead")
            : (true, "no container runtime answers (docker info); Servers:Mode=containers insists on containers"),
        _ => throw new CannotStartException($"Servers:Mode must be auto, containers or local, not '{mode}'"),
    };

    /// <summary>The container runtime's server version when `docker info` answers within 5 s, else null.</summary>
    private static string? ContainerRuntime()
    {
        try
        {
            using var docker = Process.Start(new ProcessStartInfo("docker", ["info", "--format", "{{.ServerVersion}}"])
            {
                RedirectStandardOutput = true, RedirectStandardError = true,
            })!;
            var output = docker.StandardOutput.ReadToEndAsync();
            if (!docker.WaitForExit(5000)) { docker.Kill(); return null; }
            return docker.ExitCode == 0 && output.Result.Trim() is { Length: > 0 } version ? $"docker {version}" : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no docker client at all
        }
    }

    private static Servers Containers(IDistributedApplicationBuilder builder)
    {
        // The volumes are named here rather than by Aspire (whose default names carry a hash of the AppHost's path), so
        // data survives a moved checkout and aspire-manifest.json is the same on every machine.
        var postgres = builder.AddPostgres(ResourceNames.Postgres).WithDataVolume("tradingbots-postgres-data");
        var database = postgres.AddDatabase(ResourceNames.Database);
        var redis = builder.AddRedis(ResourceNames.Redis);
        var rabbitmq = builder.AddRabbitMQ(ResourceNames.RabbitMq);
        var ollama = builder.AddContainer(ResourceNames.Ollama, "ollama/ollama")
            .WithHttpEndpoint(targetPort: 11434, name: "http")
            .WithVolume("tradingbots-ollama-models", "/root/.ollama");
        return new Servers(database, postgres, redis, rabbitmq, ReferenceExpression.Create($"{ollama.GetEndpoint("http")}"));
    }
}

/// <summary>
/// The servers from the Debian packages, as executable resources on loopback (installed when missing, through
/// servers.sh): data under <c>Servers:DataPath</c> (default storage/apphost), ports fixed for a run
/// (<c>Servers:PostgresPort</c> 5433, <c>Servers:RedisPort</c> 6380, <c>Servers:RabbitMqPort</c> 5673: clear of the
/// machine's own servers) or chosen by Aspire (<c>Servers:Ports=dynamic</c>, the tests), each with a health check the
/// services wait for. PostgreSQL logs in as the project's role with <c>Servers:PostgresPassword</c> (its own cluster,
/// loopback only); Redis has no password (loopback only); RabbitMQ is its own node, guest on its default virtual host.
/// </summary>
public static class LocalServers
{
    private const string Role = "tradingbots";

    public static Servers Add(IDistributedApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var repo = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));
        var data = Path.GetFullPath(config["Servers:DataPath"] ?? Path.Combine(repo, "storage", "apphost"));
        var dynamic = config["Servers:Ports"] == "dynamic";
        int? Port(string key, int fixedPort)
        {
            if (dynamic) return null;
            var port = int.TryParse(config[key], out var configured) ? configured : fixedPort;
            Ports.EnsureFree(port, key);
            return port;
        }
        var password = config["Servers:PostgresPassword"] ?? "tradingbots";
        var script = Path.Combine(builder.AppHostDirectory, "servers.sh");

        // Fixed ports checked first (a second run while one runs stops here, saying so); then the servers installed and
        // initialized before the model runs (a first run installs the packages: about 20 s).
        var (pgPort, redisPort, rabbitPort) = (Port("Servers:PostgresPort", 5433), Port("Servers:RedisPort", 6380), Port("Servers:RabbitMqPort", 5673));
        Run(script, ["install"]);
        var pgData = Path.Combine(data, "postgres");
        Run(script, ["init-postgres", pgData], ("TRADINGBOTS_DB_PASSWORD", password));
        var rabbitData = Path.Combine(data, "rabbitmq");
        Run(script, ["init-rabbitmq", rabbitData]);

        // In the foreground through servers.sh, which makes a stop (SIGTERM) PostgreSQL's fast shutdown and, as root, runs it
        // as the postgres user (its data directory's owner).
        var postgres = Add(builder, new LocalServer(ResourceNames.Postgres, "bash", data,
                ep => ReferenceExpression.Create($"Host={ep.Property(EndpointProperty.Host)};Port={ep.Property(EndpointProperty.Port)};Username={Role};Password={password}")),
            pgPort,
            (args, port) => args.AddRange([script, "run-postgres", pgData, port]),
            async (ep, ct) =>
            {
                await using var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={ep.Port};Username={Role};Password={password};Database=postgres;Timeout=3");
                await connection.OpenAsync(ct);
                await using var select = new NpgsqlCommand("SELECT 1", connection);
                await select.ExecuteScalarAsync(ct);
            });
        var database = builder.AddConnectionString(ResourceNames.Database,
            ReferenceExpression.Create($"{postgres.Resource.ConnectionStringExpression};Database={ResourceNames.Database}"));

        var redis = Add(builder, new LocalServer(ResourceNames.Redis, "redis-server", data,
                ep => ReferenceExpression.Create($"{ep.Property(EndpointProperty.Host)}:{ep.Property(EndpointProperty.Port)}")),
            redisPort,
            (args, port) => args.AddRange(["--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]),
            (ep, ct) => AnswersAsync(ep.Port, "PING\r\n"u8.ToArray(), reply => reply.StartsWith("+PONG"u8), ct));

        // A node of its own (servers.sh runs it as the rabbitmq user), its distribution port the AMQP port + 20000.
        var node = config["Servers:RabbitMqNode"] ?? "tradingbots-apphost";
        var rabbitmq = Add(builder, new LocalServer(ResourceNames.RabbitMq, "bash", data,
                ep => ReferenceExpression.Create($"amqp://guest:guest@{ep.Property(EndpointProperty.Host)}:{ep.Property(EndpointProperty.Port)}")),
            rabbitPort, (args, _) => args.AddRange([script, "run-rabbitmq"]),
            // An AMQP server answers the protocol header with Connection.Start, a method frame (type 1).
            (ep, ct) => AnswersAsync(ep.Port, "AMQP\0\0\x09\x01"u8.ToArray(), reply => reply.Length > 0 && reply[0] == 1, ct));
        var amqp = rabbitmq.GetEndpoint("tcp");
        rabbitmq.WithEnvironment("RABBITMQ_NODENAME", $"{node}@localhost")
            .WithEnvironment("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .WithEnvironment("RABBITMQ_NODE_PORT", ReferenceExpression.Create($"{amqp.Property(EndpointProperty.TargetPort)}"))
            .WithEnvironment("RABBITMQ_MNESIA_BASE", Path.Combine(rabbitData, "mnesia"))
            .WithEnvironment("RABBITMQ_LOG_BASE", Path.Combine(rabbitData, "log"))
            .WithEnvironment("RABBITMQ_ENABLED_PLUGINS_FILE", Path.Combine(rabbitData, "enabled_plugins"))
            .WithEnvironment("RABBITMQ_CONFIG_FILE", Path.Combine(rabbitData, "rabbitmq"));

        var ollama = config["OLLAMA_BASE_URL"] is { Length: > 0 } url ? url : "http://127.0.0.1:11434";
        Console.WriteLine($"servers: PostgreSQL, Redis and RabbitMQ data in {data}; Ollama at {ollama} (OLLAMA_BASE_URL)");
        return new Servers(database, postgres, redis, rabbitmq, ReferenceExpression.Create($"{ollama}"));
    }

    /// <summary>A server executable with one TCP endpoint (its port fixed, or allocated by Aspire and passed in its arguments) and a health check.</summary>
    private static IResourceBuilder<LocalServer> Add(IDistributedApplicationBuilder builder, LocalServer server, int? port,
        Action<List<object>, object> args, Func<EndpointReference, CancellationToken, Task> check)
    {
        var resource = builder.AddResource(server).WithEndpoint(port: port, targetPort: port, scheme: "tcp", name: "tcp", isProxied: false);
        var endpoint = resource.GetEndpoint("tcp");
        resource.WithArgs(context =>
        {
            var list = new List<object>();
            args(list, endpoint.Property(EndpointProperty.TargetPort));
            foreach (var arg in list) context.Args.Add(arg);
        });
        var key = $"{server.Name}-local";
        builder.Services.AddHealthChecks().AddAsyncCheck(key, async ct =>
        {
            try
            {
                await check(endpoint, ct);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                return HealthCheckResult.Unhealthy(ex.Message);
            }
        });
        return resource.WithHealthCheck(key);
    }

    /// <summary>Connects to the port, sends <paramref name="hello"/> and checks the first bytes of the reply (3 s at most).</summary>
    private static async Task AnswersAsync(int port, byte[] hello, Func<ReadOnlySpan<byte>, bool> expected, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(hello, timeout.Token);
        var reply = new byte[64];
        var read = await stream.ReadAsync(reply, timeout.Token);
        if (!expected(reply.AsSpan(0, read))) throw new InvalidOperationException($"port {port} answered something else");
    }

    /// <summary>Runs servers.sh with these arguments, its output on the console; a failure stops the AppHost with its reason.</summary>
    private static void Run(string script, string[] args, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo("bash", [script, .. args]);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        process.WaitForExit();
        if (process.ExitCode != 0) throw new CannotStartException($"servers.sh {string.Join(' ', args)} failed (exit {process.ExitCode}); see its output above");
    }
}

/// <summary>A server run from its package's executable, whose connection string is built from its allocated endpoint.</summary>
public sealed class LocalServer(string name, string command, string workingDirectory, Func<EndpointReference, ReferenceExpression> connectionString)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public ReferenceExpression ConnectionStringExpression => connectionString(new EndpointReference(this, "tcp"));
}

/// <summary>A fixed port checked before anything starts, so a second run while one runs says so at once.</summary>
public static class Ports
{
    /// <param name="what">Whose port, for the message (a setting name when it can be changed).</param>
    public static void EnsureFree(int port, string what)
    {
        try
        {
            var listener = new TcpListener(System.Net.IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
        }
        catch (SocketException)
        {
            throw new CannotStartException(
                $"127.0.0.1:{port} ({what}) is taken: is the system already running (this AppHost, or another program on that port)? Stop it first.");
        }
    }
}

/// <summary>Why the AppHost cannot start on this machine as configured: said in one line, without a stack trace.</summary>
public sealed class CannotStartException(string message) : Exception(message);
