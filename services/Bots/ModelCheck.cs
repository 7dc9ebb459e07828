using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using TradingBots.Data;
using TradingBots.Strategies;

namespace TradingBots.Bots;

/// <summary>
/// Before a bot on an advised strategy (llm) starts: the model its knobs name must be one Ollama has, as the AI service's
/// GET /ai/models lists them. No such model: 400 naming knobs.model and the models there are; the AI service or Ollama
/// unavailable: 503 (the bot stays stopped either way).
/// </summary>
public sealed class ModelCheck(IHttpClientFactory http)
{
    public const string AiClient = "ai";

    /// <summary>Longer than the AI service's own wait for Ollama's list (5 s), so its 503 says why.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(8);

    public async Task<Results<ValidationProblem, ProblemHttpResult>?> ProblemAsync(Bot bot, CancellationToken cancellationToken)
    {
        if (StrategyRegistry.Find(bot.Strategy) is not IAdvisedStrategy strategy) return null;
        var model = strategy.Model(KnobValues.Parse(bot.Knobs, StrategyRegistry.KnobsOf(strategy)));
        List<string> names;
        try
        {
            using var client = http.CreateClient(AiClient);
            using var response = await client.GetAsync("/ai/models", cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode) return Unavailable($"the AI service answered {(int)response.StatusCode}: {body}");
            using var json = JsonDocument.Parse(body);
            names = [.. json.RootElement.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()!)];
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException
            || ex is TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return Unavailable($"the AI service did not list them: {ex.Message}");
        }
        if (names.Any(n => Same(n, model))) return null;
        return TypedResults.ValidationProblem(new Dictionary<string, string[]>
        {
            ["knobs.model"] = [$"Ollama has no model '{model}'; it has: {(names.Count == 0 ? "none (ollama pull one)" : string.Join(", ", names))}"],
        });
    }

    /// <summary>As Ollama matches names: a name without a tag is its :latest, letters in any case.</summary>
    private static bool Same(string listed, string asked)
    {
        static string Full(string name) => (name.Contains(':') ? name : name + ":latest").ToLowerInvariant();
        return Full(listed) == Full(asked);
    }

    private static ProblemHttpResult Unavailable(string detail) => TypedResults.Problem(statusCode: 503, title: "Models unavailable",
        detail: $"the bot's model cannot be checked: {detail}", extensions: new Dictionary<string, object?> { ["dependency"] = "ai" });
}
