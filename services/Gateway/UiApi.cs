using Microsoft.Extensions.FileProviders;

namespace TradingBots.Gateway;

/// <summary>
/// The dashboard: its bundle (built from ui/ with the gateway, next to its binaries) under /ui/, and its page at / and at
/// every client-side route under /ui/ (/ui/bots/7). Nothing else: every API path (/bots, /api/…) stays the API's.
/// </summary>
public static class UiApi
{
    public static WebApplication MapUi(this WebApplication app)
    {
        var files = new PhysicalFileProvider(Path.Combine(AppContext.BaseDirectory, "ui"));
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            RequestPath = "/ui",
            // Rebuilt with the gateway under the same names: always revalidated.
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
        var page = app.MapGroup("").ExcludeFromDescription();
        page.MapGet("/", () => Page(files));
        page.MapGet("/ui", () => Page(files));
        // nonfile: /ui/app.js and the like are the static files' (a matched route would stop them being served).
        page.MapGet("/ui/{**route:nonfile}", () => Page(files));
        return app;
    }

    private static IResult Page(IFileProvider files) => files.GetFileInfo("index.html") is { Exists: true } index
        ? TypedResults.File(index.CreateReadStream(), "text/html; charset=utf-8")
        : TypedResults.Problem(statusCode: 503, title: "Dashboard not built", detail: "ui/index.html is missing next to the gateway: build the gateway (it runs ui/build.sh)");
}
