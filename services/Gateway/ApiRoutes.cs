using Yarp.ReverseProxy.Configuration;

namespace TradingBots.Gateway;

/// <summary>
/// Which service owns which API surface. Every surface answers at the root and under /api
/// (GET /market/tickers and GET /api/market/tickers); the /api form is forwarded without its prefix.
/// </summary>
public static class ApiRoutes
{
    private static readonly (string Service, string[] Prefixes)[] Owners =
    [
        (ResourceNames.Market, ["market"]),
        (ResourceNames.Trading, ["orders", "trades", "portfolio"]),
        (ResourceNames.Bots, ["bots", "jobs", "strategies", "backtests", "optimizations"]),
        (ResourceNames.Ai, ["ai"]),
    ];

    /// <summary>The services the gateway fronts (each has its OpenAPI document at /openapi/{service}.json).</summary>
    public static IEnumerable<string> Services => Owners.Select(o => o.Service);

    public static IReadOnlyList<RouteConfig> Routes { get; } =
    [
        .. from owner in Owners
           from prefix in owner.Prefixes
           from api in new[] { false, true }
           select new RouteConfig
           {
               RouteId = (api ? "api-" : "") + prefix,
               ClusterId = owner.Service,
               // A catch-all is optional, so "/orders/{**rest}" also matches "/orders".
               Match = new RouteMatch { Path = (api ? "/api/" : "/") + prefix + "/{**rest}" },
               Transforms = api ? [new Dictionary<string, string> { ["PathRemovePrefix"] = "/api" }] : null,
           },
        // Each service's OpenAPI document: /openapi/market.json is the market's /openapi/v1.json.
        .. Owners.Select(owner => new RouteConfig
        {
            RouteId = $"openapi-{owner.Service}",
            ClusterId = owner.Service,
            Match = new RouteMatch { Path = $"/openapi/{owner.Service}.json" },
            Transforms = [new Dictionary<string, string> { ["PathSet"] = "/openapi/v1.json" }],
        }),
    ];

    /// <summary>
    /// One cluster per owning service, addressed by the Aspire contract <c>services:{name}:http:0</c>
    /// (the service-discovery YARP resolver is not available here, so destinations are read once at start-up).
    /// </summary>
    public static IReadOnlyList<ClusterConfig> Clusters(IConfiguration configuration) =>
    [
        .. Owners.Select(owner => new ClusterConfig
        {
            ClusterId = owner.Service,
            Destinations = new Dictionary<string, DestinationConfig>
            {
                [owner.Service] = new()
                {
                    Address = configuration[$"services:{owner.Service}:http:0"]
                        ?? throw new InvalidOperationException($"services:{owner.Service}:http:0 is not set."),
                },
            },
        }),
    ];
}
