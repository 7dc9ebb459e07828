using System.Collections.ObjectModel;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace TradingBots.IntegrationTests;

/// <summary>
/// An Ollama server inside the test process, answering as Ollama's documented API does (docs/api.md, docs/api/errors.mdx)
/// and as its server code writes it: the same routes, status codes, content types, field names and field order, so a
/// client that works against it works against the real one. The chat replies are scripted per model; every chat
/// request is kept as sent. It listens on a free loopback port.
/// </summary>
public sealed class OllamaStandIn : IAsyncDisposable
{
    private const string JsonType = "application/json; charset=utf-8";
    private const string NoScript = "{\"action\":\"hold\",\"confidence\":0.5,\"reason\":\"no script\"}";

    // No naming policy: the anonymous objects below spell Ollama's names in Ollama's order.
    private static readonly JsonSerializerOptions Wire = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly WebApplication _app;
    private readonly LockedNames _models = ["llama3.2:3b"];
    private readonly Dictionary<string, Queue<ChatReply>> _scripts = [];
    private readonly List<string> _chatRequests = [];
    private readonly Lock _gate = new();

    private OllamaStandIn(WebApplication app) => _app = app;

    public static async Task<OllamaStandIn> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false; // Ollama (Go's net/http) sends none
            kestrel.Listen(IPAddress.Loopback, 0);
        });
        var standIn = new OllamaStandIn(builder.Build());
        standIn._app.Run(standIn.HandleAsync);
        await standIn._app.StartAsync();
        standIn.Url = standIn._app.Urls.First().TrimEnd('/');
        return standIn;
    }

    /// <summary>Where it listens, e.g. <c>http://127.0.0.1:41234</c> (no trailing slash).</summary>
    public string Url { get; private set; } = "";

    public string Version { get; set; } = "0.12.6";

    /// <summary>The models /api/tags lists and /api/chat knows; <c>llama3.2:3b</c> to begin with. A name without a tag means <c>:latest</c>, as in Ollama.</summary>
    public IList<string> Models => _models;

    /// <summary>
    /// Replies to /api/chat for a model, taken in order; when none is scripted for a model that is listed, the reply is
    /// Content("{\"action\":\"hold\",\"confidence\":0.5,\"reason\":\"no script\"}").
    /// </summary>
    public void Script(string model, params ChatReply[] replies)
    {
        lock (_gate)
        {
            if (!_scripts.TryGetValue(Normalize(model), out var queue)) _scripts[Normalize(model)] = queue = new();
            foreach (var reply in replies) queue.Enqueue(reply);
        }
    }

    /// <summary>The raw JSON bodies of every /api/chat request, in order (kept before the delay, so a timed-out one is here too).</summary>
    public IReadOnlyList<string> ChatRequests { get { lock (_gate) return [.. _chatRequests]; } }

    /// <summary>Added before answering any /api/* request, to let a client's timeout pass.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>While true, every connection is dropped without an answer, as when Ollama has gone away mid-request.</summary>
    public bool Down { get; set; }

    public async ValueTask DisposeAsync()
    {
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(grace.Token);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (Down) { context.Abort(); return; }
        var (path, method) = (context.Request.Path.Value ?? "/", context.Request.Method);
        string[] methods = path switch { "/" or "/api/version" or "/api/tags" => ["GET", "HEAD"], "/api/chat" => ["POST"], _ => [] };
        var body = "";
        if (path == "/api/chat" && method == "POST")
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            body = await reader.ReadToEndAsync(context.RequestAborted);
            lock (_gate) _chatRequests.Add(body);
        }
        if (path.StartsWith("/api/", StringComparison.Ordinal) && Delay > TimeSpan.Zero)
        {
            try { await Task.Delay(Delay, context.RequestAborted); } // a slow model: the time taken is the point
            catch (OperationCanceledException) { return; } // the client gave up
        }
        // Ollama's router (gin) answers unknown paths and wrong methods in plain text.
        if (methods.Length == 0) { await WriteAsync(context, 404, "text/plain", "404 page not found"); return; }
        if (!methods.Contains(method))
        {
            context.Response.Headers.Allow = string.Join(", ", methods);
            await WriteAsync(context, 405, "text/plain", "405 method not allowed");
            return;
        }
        await (path switch
        {
            "/" => WriteAsync(context, 200, "text/plain; charset=utf-8", "Ollama is running"),
            "/api/version" => WriteAsync(context, 200, JsonType, Json(new { version = Version })),
            "/api/tags" => WriteAsync(context, 200, JsonType, Json(new { models = _models.Snapshot().Select(Tag) })),
            _ => ChatAsync(context, body),
        });
    }

    /// <summary>One /api/tags entry: fixed, plausible details of a 3B llama in Q4_K_M, and a digest that is the name's SHA-256.</summary>
    private static object Tag(string name) => new
    {
        name,
        model = name,
        modified_at = "2025-10-16T18:52:31.527012365Z",
        size = 2019393189L,
        digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name))),
        details = new { parent_model = "", format = "gguf", family = "llama", families = new[] { "llama" }, parameter_size = "3.2B", quantization_level = "Q4_K_M" },
    };

    private async Task ChatAsync(HttpContext context, string body)
    {
        if (string.IsNullOrWhiteSpace(body)) { await ErrorAsync(context, 400, "missing request body"); return; }
        JsonElement root;
        try { root = JsonSerializer.Deserialize<JsonElement>(body); }
        catch (JsonException) { await ErrorAsync(context, 400, "invalid character in request body"); return; }
        var model = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
        if (model.Length == 0) { await ErrorAsync(context, 400, "model is required"); return; }
        // Ollama 0.12's chat handler looks the model up before scheduling it, and says so in these words.
        if (!_models.Snapshot().Any(name => Normalize(name) == Normalize(model))) { await ErrorAsync(context, 404, $"model '{model}' not found"); return; }
        var stream = !(root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.False); // absent (or null) means true
        var promptTokens = Math.Max(1, body.Length / 4);
        switch (NextReply(model))
        {
            case ChatReply.Error error:
                await ErrorAsync(context, error.Status, error.Message);
                break;
            case ChatReply.MidStreamError failure when !stream: // without streaming Ollama answers a failed run with 500
                await ErrorAsync(context, 500, failure.Message);
                break;
            case ChatReply.MidStreamError failure: // the status is already 200: an error line, and no done:true
                await StreamAsync(context, [Chunk(model, failure.Partial), Json(new { error = failure.Message })]);
                break;
            case ChatReply.Content content when !stream:
                await WriteAsync(context, 200, JsonType, Final(model, content.Text, promptTokens, Tokens(content.Text)));
                break;
            case ChatReply.Content content:
                await StreamAsync(context, [.. Pieces(content.Text).Select(piece => Chunk(model, piece)), Final(model, "", promptTokens, Tokens(content.Text))]);
                break;
        }
    }

    private ChatReply NextReply(string model)
    {
        lock (_gate)
            return _scripts.TryGetValue(Normalize(model), out var queue) && queue.TryDequeue(out var reply) ? reply : new ChatReply.Content(NoScript);
    }

    private static string Chunk(string model, string content) =>
        Json(new { model, created_at = Now(), message = new { role = "assistant", content }, done = false });

    /// <summary>The last (or only) object of a reply: done, why, and the counts and durations (nanoseconds) Ollama reports.</summary>
    private static string Final(string model, string content, int promptTokens, int evalTokens)
    {
        long load = 48_611_708, prompt = promptTokens * 1_250_000L, eval = evalTokens * 21_000_000L;
        return Json(new
        {
            model, created_at = Now(), message = new { role = "assistant", content }, done_reason = "stop", done = true,
            total_duration = load + prompt + eval + 1_204_167, load_duration = load,
            prompt_eval_count = promptTokens, prompt_eval_duration = prompt, eval_count = evalTokens, eval_duration = eval,
        });
    }

    private static int Tokens(string text) => Math.Max(1, (text.Length + 3) / 4);

    /// <summary>The content cut into four pieces or fewer, never inside a surrogate pair.</summary>
    private static IEnumerable<string> Pieces(string text)
    {
        var size = Math.Max(1, (text.Length + 3) / 4);
        for (var start = 0; start < text.Length;)
        {
            var length = Math.Min(size, text.Length - start);
            if (start + length < text.Length && char.IsLowSurrogate(text[start + length])) length++;
            yield return text.Substring(start, length);
            start += length;
        }
    }

    private static async Task StreamAsync(HttpContext context, IEnumerable<string> lines)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/x-ndjson";
        foreach (var line in lines)
        {
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }

    private static Task ErrorAsync(HttpContext context, int status, string message) => WriteAsync(context, status, JsonType, Json(new { error = message }));

    private static async Task WriteAsync(HttpContext context, int status, string contentType, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        context.Response.ContentLength = bytes.Length; // Go sets it for small bodies, HEAD included (Kestrel drops a HEAD body)
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
    }

    /// <summary>JSON as Go's encoding/json writes it: compact, with &lt; &gt; &amp; U+2028 U+2029 escaped and the rest of Unicode left alone.</summary>
    private static string Json(object value) => JsonSerializer.Serialize(value, Wire)
        .Replace("<", "\\u003c").Replace(">", "\\u003e").Replace("&", "\\u0026").Replace("\u2028", "\\u2028").Replace("\u2029", "\\u2029");

    /// <summary>A time as Go marshals a UTC time.Time: RFC 3339 with the fraction's trailing zeros dropped.</summary>
    private static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>A model name as Ollama compares them: without a tag it is <c>:latest</c>; case does not matter.</summary>
    private static string Normalize(string name) =>
        (name.IndexOf(':', name.LastIndexOf('/') + 1) < 0 ? name + ":latest" : name).ToLowerInvariant();

    /// <summary>A list a test may change while the server reads it.</summary>
    private sealed class LockedNames : Collection<string>
    {
        private readonly Lock _gate = new();

        public string[] Snapshot() { lock (_gate) return [.. Items]; }
        protected override void InsertItem(int index, string item) { lock (_gate) base.InsertItem(index, item); }
        protected override void SetItem(int index, string item) { lock (_gate) base.SetItem(index, item); }
        protected override void RemoveItem(int index) { lock (_gate) base.RemoveItem(index); }
        protected override void ClearItems() { lock (_gate) base.ClearItems(); }
    }
}

/// <summary>How the stand-in answers one /api/chat request.</summary>
public abstract record ChatReply
{
    /// <summary>The assistant's message content.</summary>
    public sealed record Content(string Text) : ChatReply;

    /// <summary>An HTTP status with <c>{"error": Message}</c>, as Ollama fails a request before it answers.</summary>
    public sealed record Error(int Status, string Message) : ChatReply;

    /// <summary>
    /// Streaming: one chunk with Partial content, then an <c>{"error":...}</c> line and no <c>done:true</c>, as Ollama fails
    /// once the answer has begun; without streaming, a 500 with the error.
    /// </summary>
    public sealed record MidStreamError(string Partial, string Message) : ChatReply;
}
