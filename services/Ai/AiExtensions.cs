namespace TradingBots.Ai;

public static class AiExtensions
{
    public static WebApplicationBuilder AddAiServices(this WebApplicationBuilder builder)
    {
        return builder;
    }

    public static WebApplication MapAiApi(this WebApplication app)
    {
        return app;
    }
}
