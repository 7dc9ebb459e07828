using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TradingBots.Events;

namespace TradingBots.Paper;

/// <summary>
/// How an order's Idempotency-Key is stored and its request compared: the key under its caller's scope (a client's
/// POST /orders, the Worker's strategy orders), so a client's key can never be the Worker's; the request by a hash of its
/// canonical form (the validated request as the wire writes it), so the same order in JSON of another layout, field
/// order or number scale is a replay, not a different request.
/// </summary>
public static class Idempotency
{
    public const string Orders = "orders", Worker = "worker";

    public static string Scoped(string scope, string key) => $"{scope}:{key}";

    public static string Hash(OrderRequest request) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(request, WireJson.Options))));
}
