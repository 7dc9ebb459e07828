using System.Net.Sockets;
using Yarp.ReverseProxy.Forwarder;

namespace TradingBots.Gateway;

/// <summary>
/// When a service cannot answer, the gateway says which one and why, as a ProblemDetails: 503 with Retry-After while it
/// refuses connections (stopped, or being restarted by the AppHost), 504 when it timed out, 502 for any other failure.
/// A request the gateway itself refused while forwarding its body (over the body cap: 413; malformed: 400) is the
/// client's, and said as such.
/// </summary>
public static class ServiceErrors
{
    public static async Task WriteAsync(HttpContext context, Func<Task> next)
    {
        await next();
        var error = context.GetForwarderErrorFeature();
        if (error is null || error.Error == ForwarderError.RequestCanceled || context.Response.HasStarted) return;

        var service = context.GetReverseProxyFeature().Route.Config.ClusterId ?? "the service";
        var (status, title, detail) = Describe(service, error.Error, error.Exception);
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status503ServiceUnavailable) context.Response.Headers.RetryAfter = "1";
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = title, Detail = detail, Extensions = { ["service"] = service } },
        });
    }

    public static (int Status, string Title, string Detail) Describe(string service, ForwarderError error, Exception? exception) => error switch
    {
        ForwarderError.RequestBodyClient when ClientRefused(exception) is { } bad =>
            (bad.StatusCode, ProblemResponses.Classify(bad).Title, bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"the request body is over the gateway's limit of {ProblemResponses.MaxBodyBytes} bytes" : bad.Message),
        ForwarderError.NoAvailableDestinations => (StatusCodes.Status503ServiceUnavailable, $"{service} is unavailable", $"no {service} process is configured"),
        ForwarderError.Request or ForwarderError.RequestCreation when Refused(exception) =>
            (StatusCodes.Status503ServiceUnavailable, $"{service} is unavailable", $"{service} is not accepting connections (stopped, or restarting); retry shortly"),
        ForwarderError.RequestTimedOut => (StatusCodes.Status504GatewayTimeout, $"{service} timed out", $"{service} did not answer in time"),
        _ => (StatusCodes.Status502BadGateway, $"{service} failed", $"{service} failed to answer ({error}): {exception?.Message}"),
    };

    /// <summary>The gateway's own refusal of the client's body (Kestrel's), when that is what stopped the forwarding.</summary>
    private static BadHttpRequestException? ClientRefused(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is BadHttpRequestException bad) return bad;
        }
        return null;
    }

    private static bool Refused(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.ConnectionReset }) return true;
        }
        return false;
    }
}
