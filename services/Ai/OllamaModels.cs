using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OllamaSharp;
using TradingBots.Events;
using TradingBots.Strategies;

namespace TradingBots.Ai;

/// <summary>Why Ollama could not give what was asked: the status the AI service answers with, and a sentence for people.</summary>
public sealed class OllamaFailure(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

public sealed record ModelView(string Name, long Size, DateTimeOffset ModifiedAt, string Digest, string? Family,
    string? ParameterSize, string? QuantizationLevel);

/// <summary>
/// Ollama through OllamaSharp, on one long-lived HttpClient of its own (no retrying handler: a retry would only double a
/// slow model's wait) and our own timeouts, told apart from the caller going away. Every failure becomes an
/// <see cref="OllamaFailure"/>: unreachable 503, too slow 504 (the quick calls: 503, Ollama is then unavailable),
/// no such model 404, a refusal or an answer outside the schema 502.
/// </summary>
public sealed class OllamaModels(IOptions<AiOptions> options)
{
    private readonly OllamaApiClient _client = new(new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = new Uri(options.Value.BaseUrl.TrimEnd('/') + "/"),
        Timeout = Timeout.InfiniteTimeSpan,
    });

    public string BaseUrl => options.Value.BaseUrl;

    public Task<string> VersionAsync(CancellationToken cancellationToken) =>
        CallAsync(options.Value.RequestTimeout, StatusCodes.Status503ServiceUnavailable, ct => _client.GetVersionAsync(ct), cancellationToken);

    public async Task<IReadOnlyList<ModelView>> ListAsync(CancellationToken cancellationToken)
    {
        var models = await CallAsync(options.Value.RequestTimeout, StatusCodes.Status503ServiceUnavailable, ct => _client.ListLocalModelsAsync(ct), cancellationToken);
        return [.. models.Select(m => new ModelView(m.Name, m.Size, m.ModifiedAt, m.Digest, m.Details?.Family, m.Details?.ParameterSize,
            m.Details?.QuantizationLevel)).OrderBy(m => m.Name, StringComparer.Ordinal)];
    }

    /// <summary>Asks the model for a decision in <see cref="Advice.Schema"/> (structured output, temperature 0) and reads it strictly.</summary>
    public async Task<Advice> DecideAsync(AdviceRequest request, CancellationToken cancellationToken)
    {
        IChatClient chat = _client;
        var chatOptions = new ChatOptions
        {
            ModelId = request.Model,
            Temperature = 0,
            ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(Advice.Schema).RootElement, "decision",
                "a trading decision: action, confidence, reason"),
        };
        var response = await CallAsync(options.Value.DecisionTimeout, StatusCodes.Status504GatewayTimeout,
            ct => chat.GetResponseAsync(DecisionPrompt.Messages(request), chatOptions, ct), cancellationToken);
        var (advice, problem) = Advice.Parse(response.Text);
        return advice ?? throw new OllamaFailure(StatusCodes.Status502BadGateway, $"{request.Model}'s answer is not a decision: {problem}");
    }

    private async Task<T> CallAsync<T>(TimeSpan timeout, int slowStatus, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            return await call(limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OllamaFailure(slowStatus, $"Ollama at {BaseUrl} did not answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw new OllamaFailure(StatusCodes.Status404NotFound, "Ollama does not have this model (GET /ai/models lists those it has)");
        }
        catch (HttpRequestException ex) when (ex.StatusCode is null)
        {
            throw new OllamaFailure(StatusCodes.Status503ServiceUnavailable, $"Ollama at {BaseUrl} is not reachable: {ex.Message}");
        }
        catch (HttpRequestException ex)
        {
            throw new OllamaFailure(StatusCodes.Status502BadGateway, $"Ollama answered {(int)ex.StatusCode!}: {ex.Message}");
        }
        catch (OllamaSharp.Models.Exceptions.OllamaException ex)
        {
            throw new OllamaFailure(StatusCodes.Status502BadGateway, $"Ollama refused the request: {ex.Message}");
        }
        catch (Exception ex) when (ex is InvalidOperationException or JsonException or NotSupportedException)
        {
            // A stream that ended without done=true (an error line mid-answer), or a body that is not Ollama's JSON.
            throw new OllamaFailure(StatusCodes.Status502BadGateway, $"Ollama's answer broke off or is malformed: {ex.Message}");
        }
    }
}

/// <summary>What the model is told: the rules of the answer, the owner's instructions, then the market as numbers.</summary>
public static class DecisionPrompt
{
    public static IReadOnlyList<ChatMessage> Messages(AdviceRequest request)
    {
        var system = new StringBuilder("""
            You decide for a paper-trading bot whether to buy, sell or hold one crypto symbol, from its recent closed candles.
            buy opens a position when none is open; sell closes the open position; hold does nothing.
            Answer only with JSON: {"action": "buy"|"sell"|"hold", "confidence": a number from 0 to 1, "reason": one short sentence}.
            """);
        if (request.Prompt is { Length: > 0 } extra) system.Append("\nInstructions from the bot's owner: ").Append(extra);

        var user = new StringBuilder($"Symbol: {request.Symbol}, timeframe {request.Timeframe}, price now {WireJson.Format(request.Price)}.\n");
        user.Append(request.OpenTrades.Count == 0 ? "No position is open.\n"
            : "Open position: " + string.Join("; ", request.OpenTrades.Select(t =>
                $"{WireJson.Format(t.Qty)} bought at {WireJson.Format(t.EntryPrice)} for {WireJson.Format(t.CostBasisQuote)}")) + "\n");
        user.Append("Closed candles, oldest first (open time UTC, open, high, low, close, volume):\n");
        foreach (var c in request.Candles)
        {
            user.Append(CultureInfo.InvariantCulture, $"{WireJson.Format(DateTimeOffset.FromUnixTimeMilliseconds(c.OpenTime))},{WireJson.Format(c.Open)},"
                + $"{WireJson.Format(c.High)},{WireJson.Format(c.Low)},{WireJson.Format(c.Close)},{WireJson.Format(c.Volume)}\n");
        }
        return [new ChatMessage(ChatRole.System, system.ToString()), new ChatMessage(ChatRole.User, user.ToString())];
    }
}
