using System.ComponentModel.DataAnnotations;

namespace TradingBots.Ai;

public sealed class AiOptions
{
    public const string Section = "Ai";

    /// <summary>Ollama's address: the spec's <c>OLLAMA_BASE_URL</c> (bound from the configuration's root).</summary>
    [Required, Url]
    public string BaseUrl { get; set; } = "http://localhost:11434";

    /// <summary>For the quick calls (models, version): an Ollama that does not answer this fast is unavailable.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>For one decision: a small model on a CPU answers in seconds; a cold one loads first.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan DecisionTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
