using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using TradingBots.Strategies;

namespace TradingBots.Ai;

public sealed record ModelList(IReadOnlyList<ModelView> Models);

public sealed record AiHealth(string Status, string OllamaUrl, string Version);

/// <summary>What a decision is asked with (POST /ai/decisions): an <see cref="AdviceRequest"/> on the wire.</summary>
public sealed record DecisionBody(string? Model, string? Prompt, string? Symbol, string? Timeframe, decimal? Price, List<Candle>? Candles,
    List<OpenTrade>? OpenTrades);

/// <summary>GET /ai/models, GET /ai/health, POST /ai/decisions. Ollama down or slow is a 503 ProblemDetails saying so, never a hang.</summary>
public static class AiApi
{
    /// <summary>A decision's request: 500 candles are about 60 KB.</summary>
    public const long MaxBodyBytes = 256 * 1024;

    public static WebApplication MapAiApi(this WebApplication app)
    {
        var ai = app.MapGroup("/ai").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        ai.MapGet("/models", ModelsAsync).WithSummary("The models Ollama has (its GET /api/tags)");
        ai.MapGet("/health", HealthAsync).WithSummary("Whether Ollama answers, and its version");
        ai.MapPost("/decisions", DecideAsync).WithBodyLimit(MaxBodyBytes).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout)
            .WithSummary("A model's buy/sell/hold decision on recent candles (what the llm strategy asks each closed candle)");
        return app;
    }

    private static async Task<Results<Ok<ModelList>, ProblemHttpResult>> ModelsAsync(OllamaModels ollama, CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(new ModelList(await ollama.ListAsync(cancellationToken)));
        }
        catch (OllamaFailure failure)
        {
            return Problem(failure, ollama);
        }
    }

    private static async Task<Results<Ok<AiHealth>, ProblemHttpResult>> HealthAsync(OllamaModels ollama, CancellationToken cancellationToken)
    {
        try
        {
            return TypedResults.Ok(new AiHealth("reachable", ollama.BaseUrl, await ollama.VersionAsync(cancellationToken)));
        }
        catch (OllamaFailure failure)
        {
            return Problem(failure, ollama);
        }
    }

    private static async Task<Results<Ok<Advice>, ValidationProblem, ProblemHttpResult>> DecideAsync(DecisionBody? body, OllamaModels ollama,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (body is null) errors["body"] = ["a JSON object is required"];
        else
        {
            if (string.IsNullOrWhiteSpace(body.Model)) errors["model"] = ["is required"];
            if (string.IsNullOrWhiteSpace(body.Symbol)) errors["symbol"] = ["is required"];
            if (string.IsNullOrWhiteSpace(body.Timeframe)) errors["timeframe"] = ["is required"];
            if (body.Price is not > 0) errors["price"] = ["must be a positive number"];
            if (body.Candles is not { Count: > 0 and <= 1000 }) errors["candles"] = ["from 1 to 1000 candles are required"];
        }
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        try
        {
            return TypedResults.Ok(await ollama.DecideAsync(new AdviceRequest(body!.Model!.Trim(), body.Prompt, body.Symbol!, body.Timeframe!, body.Price!.Value,
                body.Candles!, body.OpenTrades ?? []), cancellationToken));
        }
        catch (OllamaFailure failure)
        {
            return Problem(failure, ollama);
        }
    }

    private static ProblemHttpResult Problem(OllamaFailure failure, OllamaModels ollama) => TypedResults.Problem(statusCode: failure.Status,
        title: failure.Status switch { 503 => "Ollama unavailable", 504 => "Ollama timed out", 404 => "No such model", _ => "Ollama failed" },
        detail: failure.Message, extensions: new Dictionary<string, object?> { ["dependency"] = "ollama", ["ollama_url"] = ollama.BaseUrl });
}
