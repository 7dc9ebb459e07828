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

    [Fact]
    public void Resolves_connection_strings_onto_the_local_servers()
    {
        var resolver = new ExpressionResolver(Manifest, (name, binding) => LocalServers.EndpointOf(Manifest[name], binding),
            LocalServers.ParameterValue);

        var database = resolver.Resolve($"{{{ResourceNames.Database}.connectionString}}");
        Assert.Contains("Host=127.0.0.1", database);
        Assert.Contains("Port=5432", database);
        Assert.Contains("Password=postgres", database);
        Assert.Contains($"Database={ResourceNames.Database}", database);
        Assert.StartsWith("amqp://guest:guest@127.0.0.1:5672", resolver.Resolve($"{{{ResourceNames.RabbitMq}.connectionString}}"));
        Assert.StartsWith("127.0.0.1:6379", resolver.Resolve($"{{{ResourceNames.Redis}.connectionString}}"));
    }

    [Fact]
    public void Every_project_environment_resolves()
    {
        var resolver = new ExpressionResolver(Manifest, (name, binding) => Manifest[name].IsContainer
            ? LocalServers.EndpointOf(Manifest[name], binding)
            : new Endpoint("http", "127.0.0.1", 9999), LocalServers.ParameterValue);

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
