using TradingBots.Events;

namespace TradingBots.Ai;

public static class AiExtensions
{
    public static WebApplicationBuilder AddAiServices(this WebApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(json => WireJson.Configure(json.SerializerOptions));
        // The spec's OLLAMA_BASE_URL, under the section's other settings (Ai__RequestTimeout, Ai__DecisionTimeout).
        builder.Services.AddOptions<AiOptions>().BindConfiguration(AiOptions.Section)
            .Configure<IConfiguration>((options, configuration) => options.BaseUrl = configuration["OLLAMA_BASE_URL"] is { Length: > 0 } url ? url : options.BaseUrl)
            .ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<OllamaModels>();
        return builder;
    }
}
