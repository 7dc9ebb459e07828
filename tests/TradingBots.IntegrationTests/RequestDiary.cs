using System.Diagnostics;
using System.Globalization;

namespace TradingBots.IntegrationTests;

/// <summary>
/// Every request the tests send through the fixture's clients, one line each in the instance's log folder
/// (<c>requests.log</c> beside the services' logs): when, which test, what, the status and how long it took, and the body
/// of any 5xx answer. A failure seen only in a full run (another test's fault still set, a service mid-restart) can then be
/// read afterwards: which test ran just before, and what the service said.
/// </summary>
public sealed class RequestDiary(string path) : DelegatingHandler(new SocketsHttpHandler())
{
    private const int BodyShown = 600;
    private static readonly Lock Gate = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var at = DateTimeOffset.UtcNow;
        var test = TestContext.Current.Test?.TestDisplayName ?? "(no test)";
        try
        {
            var response = await base.SendAsync(request, cancellationToken);
            var body = "";
            if ((int)response.StatusCode >= 500)
            {
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                body = " " + (text.Length > BodyShown ? text[..BodyShown] + "…" : text);
            }
            Write(at, test, request, $"{(int)response.StatusCode}", started, body);
            return response;
        }
        catch (Exception ex)
        {
            Write(at, test, request, ex.GetType().Name, started, " " + ex.Message);
            throw;
        }
    }

    private void Write(DateTimeOffset at, string test, HttpRequestMessage request, string outcome, long started, string body)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{at:HH:mm:ss.fff} {Stopwatch.GetElapsedTime(started).TotalMilliseconds,7:0} ms {outcome} {request.Method} {request.RequestUri?.PathAndQuery} [{test}]{body}{Environment.NewLine}");
        lock (Gate) File.AppendAllText(path, line);
    }
}
