namespace TradingBots;

/// <summary>
/// Names of the topology's resources: the AppHost declares them, the tests
/// look them up, and services read <c>ConnectionStrings__{name}</c> / <c>services__{name}__http__0</c> by them.
/// </summary>
public static class ResourceNames
{
    public const string Postgres = "postgres";
    public const string Database = "tradingbots";
    public const string Redis = "redis";
    public const string RabbitMq = "rabbitmq";
    public const string Ollama = "ollama";

    public const string Gateway = "gateway";
    public const string Market = "market";
    public const string Trading = "trading";
    public const string Bots = "bots";
    public const string Ai = "ai";
    public const string Worker = "worker";
    public const string ExchangeSim = "exchangesim";
    public const string Migrations = "migrations";
}
