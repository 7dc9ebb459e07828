using System.Collections.Concurrent;

namespace TradingBots.ExchangeSim;

/// <summary>The request weight Binance charges for an endpoint, from its query; endpoint metadata read by <see cref="UsageFilter"/>.</summary>
public sealed record RequestWeight(Func<IQueryCollection, int> Of);

/// <summary>
/// Requests served per Binance path since start or reset (tests count upstream calls here) and the weight used in
/// the current minute, which Binance reports in <c>X-MBX-USED-WEIGHT-1M</c>.
/// </summary>
public sealed class UsageMeter(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, long> _requests = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _minute;
    private int _weight;

    /// <summary>Counts one request and its weight; returns the weight used so far this minute.</summary>
    public int Record(string path, int weight)
    {
        _requests.AddOrUpdate(path, 1, (_, count) => count + 1);
        var minute = time.GetUtcNow().ToUnixTimeSeconds() / 60;
        lock (_gate)
        {
            if (minute != _minute) (_minute, _weight) = (minute, 0);
            return _weight += weight;
        }
    }

    public IReadOnlyDictionary<string, long> Requests =>
        new SortedDictionary<string, long>(_requests.ToDictionary(), StringComparer.Ordinal);

    public void Clear()
    {
        _requests.Clear();
        lock (_gate) _weight = 0;
    }
}

/// <summary>Counts every /api/v3 request (faulted or rejected ones too) and sends the used weight back.</summary>
public sealed class UsageFilter(UsageMeter meter) : IEndpointFilter
{
    public const string UsedWeightHeader = "X-MBX-USED-WEIGHT-1M";

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var endpoint = http.GetEndpoint();
        var path = (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? http.Request.Path.Value ?? "";
        var weight = endpoint?.Metadata.GetMetadata<RequestWeight>()?.Of(http.Request.Query) ?? 1;
        http.Response.Headers[UsedWeightHeader] = meter.Record(path, weight).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return next(context);
    }
}

public static class RequestWeightExtensions
{
    public static RouteHandlerBuilder WithWeight(this RouteHandlerBuilder builder, int weight) =>
        builder.WithWeight(_ => weight);

    public static RouteHandlerBuilder WithWeight(this RouteHandlerBuilder builder, Func<IQueryCollection, int> weight) =>
        builder.WithMetadata(new RequestWeight(weight));
}
