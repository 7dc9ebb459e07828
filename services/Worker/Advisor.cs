using System.Net.Http.Json;
using System.Text.Json;
using TradingBots.Events;
using TradingBots.Strategies;

namespace TradingBots.Worker;

/// <summary>
/// Asks the AI service (POST /ai/decisions) for an <see cref="IAdvisedStrategy"/>'s advice, waiting at most
/// <see cref="Wait"/> (beyond the AI service's own limit for Ollama); any failure is the reason there is no advice.
/// </summary>
public sealed class Advisor(IHttpClientFactory http)
{
    public const string AiClient = "ai";
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    public async Task<(Advice? Advice, string? Problem)> AskAsync(AdviceRequest request, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(Wait);
        try
        {
            using var client = http.CreateClient(AiClient);
            using var response = await client.PostAsJsonAsync("/ai/decisions", request, WireJson.Options, limit.Token);
            var body = await response.Content.ReadAsStringAsync(limit.Token);
            if (!response.IsSuccessStatusCode) return (null, $"the AI service answered {(int)response.StatusCode}: {Detail(body)}");
            return Advice.Parse(body) is ({ } advice, _) ? (advice, null) : (null, $"the AI service's answer is not a decision: {body}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"{request.Model} did not decide within {Wait.TotalSeconds:0} s");
        }
        catch (HttpRequestException ex)
        {
            return (null, $"the AI service is not reachable: {ex.Message}");
        }
    }

    private static string Detail(string problem)
    {
        try
        {
            using var json = JsonDocument.Parse(problem);
            return json.RootElement.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String ? detail.GetString()! : problem;
        }
        catch (JsonException)
        {
            return problem;
        }
    }
}
