using System.Collections.Immutable;
using Microsoft.Extensions.Options;

namespace TradingBots.ExchangeSim;

public enum FaultMode
{
    None,
    Error500,
    RateLimit429,
    Timeout,
    Malformed,
    /// <summary>The right answer, after <see cref="Fault.LatencyMs"/>: a slow exchange.</summary>
    Latency,
}

/// <summary>A symbol's fault: its mode and, for <see cref="FaultMode.Latency"/>, how long each answer waits.</summary>
public sealed record Fault(FaultMode Mode, int LatencyMs = 0)
{
    public static readonly Fault None = new(FaultMode.None);
}

/// <summary>The faults set through the control API, per symbol. Thread-safe: an immutable map swapped under a lock.</summary>
public sealed class FaultBoard
{
    /// <summary>The modes by their control-API names.</summary>
    public static readonly IReadOnlyDictionary<string, FaultMode> Modes = new Dictionary<string, FaultMode>(StringComparer.Ordinal)
    {
        ["none"] = FaultMode.None,
        ["error500"] = FaultMode.Error500,
        ["ratelimit429"] = FaultMode.RateLimit429,
        ["timeout"] = FaultMode.Timeout,
        ["malformed"] = FaultMode.Malformed,
        ["latency"] = FaultMode.Latency,
    };

    private readonly Lock _gate = new();
    private ImmutableDictionary<string, Fault> _faults = ImmutableDictionary<string, Fault>.Empty;

    public static string NameOf(FaultMode mode) => Modes.First(m => m.Value == mode).Key;

    /// <summary>Symbols with a fault, by symbol.</summary>
    public IReadOnlyDictionary<string, Fault> Active => Volatile.Read(ref _faults);

    public void Set(FaultMode mode, IEnumerable<SymbolSpec> symbols) => Set(new Fault(mode), symbols);

    public void Set(Fault fault, IEnumerable<SymbolSpec> symbols)
    {
        lock (_gate)
        {
            foreach (var spec in symbols)
                _faults = fault.Mode == FaultMode.None ? _faults.Remove(spec.Symbol) : _faults.SetItem(spec.Symbol, fault);
        }
    }

    public void Clear()
    {
        lock (_gate) _faults = _faults.Clear();
    }

    /// <summary>
    /// The fault a request meets: that of the first faulted symbol it names, or, when it names none (and so reads
    /// every symbol), that of the first faulted symbol of the catalog.
    /// </summary>
    public Fault For(IReadOnlyList<string>? named)
    {
        var faults = Volatile.Read(ref _faults);
        if (faults.IsEmpty) return Fault.None;
        var symbols = named ?? SymbolCatalog.All.Select(s => s.Symbol);
        return symbols.Select(s => faults.GetValueOrDefault(s)).FirstOrDefault(f => f is not null) ?? Fault.None;
    }
}

/// <summary>Plays the configured fault on the market-data endpoints instead of (or, for a timeout or latency, before) the answer.</summary>
public sealed class FaultFilter(
    FaultBoard faults, IOptions<ExchangeSimOptions> options, TimeProvider time, IHostApplicationLifetime lifetime) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var query = http.Request.Query;
        var fault = faults.For(SymbolQuery.Named(query["symbol"], query["symbols"]));
        switch (fault.Mode)
        {
            case FaultMode.Error500:
                return TypedResults.Json(BinanceError.Unknown, statusCode: StatusCodes.Status500InternalServerError);
            case FaultMode.RateLimit429:
                http.Response.Headers.RetryAfter = options.Value.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return TypedResults.Json(BinanceError.TooManyRequests, statusCode: StatusCodes.Status429TooManyRequests);
            case FaultMode.Malformed:
                // Cut off mid-document, as a dropped connection behind a proxy would leave it.
                return TypedResults.Text("""[{"symbol":"BTCUSDT","price":"1000""", "application/json");
            case FaultMode.Timeout or FaultMode.Latency:
                // Hold the answer; stop holding when the client gives up or the service shuts down.
                var hold = fault.Mode == FaultMode.Timeout ? TimeSpan.FromSeconds(options.Value.TimeoutFaultSeconds) : TimeSpan.FromMilliseconds(fault.LatencyMs);
                using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping))
                {
                    try
                    {
                        // A timer may end a millisecond or two early: waited again until the whole hold has passed.
                        var started = time.GetTimestamp();
                        for (var left = hold; left > TimeSpan.Zero; left = hold - time.GetElapsedTime(started)) await Task.Delay(left, time, cancel.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return TypedResults.Empty;
                    }
                }
                break;
        }
        return await next(context);
    }
}
