using TradingBots.Runner;

namespace TradingBots.UnitTests;

public sealed class ManifestTests
{
    private static readonly Manifest Manifest = Manifest.Load(RepoRoot.File("aspire-manifest.json"));

    [Fact]
    public void Declares_every_resource_the_code_names()
    {
        string[] expected =
        [
            ResourceNames.Postgres, ResourceNames.Database, ResourceNames.Redis, ResourceNames.RabbitMq, ResourceNames.Ollama,
            ResourceNames.Gateway, ResourceNames.Market, ResourceNames.Trading, ResourceNames.Bots, ResourceNames.Ai,
            ResourceNames.Worker, ResourceNames.ExchangeSim, ResourceNames.Migrations,
        ];
        Assert.Subset(Manifest.Resources.Select(r => r.Name).ToHashSet(), expected.ToHashSet());
        Assert.All(Manifest.Resources.Where(r => r.IsProject), project =>
            Assert.True(File.Exists(Path.Combine(Manifest.Directory, project["path"]!)), $"{project["path"]} exists"));
    }

    private static ExpressionResolver LocalResolver(int portOffset)
    {
        var servers = new LocalServers(Manifest, portOffset);
        return new ExpressionResolver(Manifest, (name, binding) => Manifest[name].IsContainer
            ? servers.EndpointOf(Manifest[name], binding)
            : new Endpoint("http", "127.0.0.1", 9999 + portOffset), LocalServers.ParameterValue, servers.Localize);
    }

    [Fact]
    public void Resolves_connection_strings_onto_the_local_servers_as_the_projects_own_role()
    {
        var resolver = LocalResolver(0);

        var database = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = resolver.Resolve($"{{{ResourceNames.Database}.connectionString}}") };
        Assert.Equal(("127.0.0.1", "5432", "tradingbots", "tradingbots", ResourceNames.Database),
            (database["Host"], database["Port"], database["Username"], database["Password"], database["Database"]));
        var server = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = resolver.Resolve($"{{{ResourceNames.Postgres}.connectionString}}") };
        Assert.Equal(("tradingbots", "postgres"), (server["Username"], server["Database"]));
        Assert.Equal("amqp://guest:guest@127.0.0.1:5672/tradingbots", resolver.Resolve($"{{{ResourceNames.RabbitMq}.connectionString}}"));
        Assert.StartsWith("127.0.0.1:6379,", resolver.Resolve($"{{{ResourceNames.Redis}.connectionString}}"));
    }

    [Fact]
    public void A_test_instance_has_its_own_database_redis_server_and_rabbitmq_node()
    {
        var resolver = LocalResolver(10000);

        var database = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = resolver.Resolve($"{{{ResourceNames.Database}.connectionString}}") };
        Assert.Equal(("15432", "tradingbots_10000"), (database["Port"], database["Database"]));
        Assert.Equal("amqp://guest:guest@127.0.0.1:15673/tradingbots-10000", resolver.Resolve($"{{{ResourceNames.RabbitMq}.connectionString}}"));
        Assert.StartsWith("127.0.0.1:16379,", resolver.Resolve($"{{{ResourceNames.Redis}.connectionString}}"));
        // What every service is given: nothing of instance 0.
        foreach (var project in Manifest.Resources.Where(r => r.IsProject))
        {
            foreach (var (name, value) in project.Env.Where(e => e.Key.StartsWith("ConnectionStrings__", StringComparison.Ordinal)))
            {
                var resolved = resolver.Resolve(value);
                Assert.DoesNotContain("Database=tradingbots;", resolved + ";");
                Assert.DoesNotContain(":6379,", resolved);
                Assert.False(resolved.StartsWith("amqp://", StringComparison.Ordinal) && resolved.EndsWith("/tradingbots", StringComparison.Ordinal), resolved);
            }
        }
    }

    [Fact]
    public async Task The_users_databases_are_never_dropped()
    {
        var error = await Assert.ThrowsAsync<RunnerException>(() => new LocalServers(Manifest, 0).DropDatabasesAsync(TextWriter.Null));
        Assert.Contains("never dropped", error.Message);
    }

    [Fact]
    public void Every_project_environment_resolves()
    {
        var resolver = LocalResolver(0);

        foreach (var project in Manifest.Resources.Where(r => r.IsProject))
        {
            foreach (var (name, value) in project.Env)
            {
                var resolved = resolver.Resolve(value);
                Assert.DoesNotContain("{", resolved);
            }
        }
        Assert.Equal("http://127.0.0.1:9999", resolver.Resolve("{gateway.bindings.http.url}"));
    }

    [Fact]
    public void Unknown_expressions_are_reported()
    {
        var resolver = new ExpressionResolver(Manifest, (_, _) => new Endpoint("http", "h", 1), LocalServers.ParameterValue);
        var error = Assert.Throws<RunnerException>(() => resolver.Resolve("{redis.somethingElse}"));
        Assert.Contains("redis.somethingElse", error.Message);
    }
}
