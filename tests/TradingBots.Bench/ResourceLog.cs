using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace TradingBots.Bench;

/// <summary>A resource's console log as the AppHost collects it, line by line from when it is watched (kept in memory).</summary>
public sealed class ResourceLog
{
    private readonly List<string> _lines = [];

    public static ResourceLog Watch(DistributedApplication app, string resource)
    {
        var log = new ResourceLog();
        var logs = app.Services.GetRequiredService<ResourceLoggerService>();
        // By the resource itself: its logs are kept under the name of its running instance (worker-<suffix>), not "worker".
        var model = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == resource);
        _ = Task.Run(async () =>
        {
            await foreach (var batch in logs.WatchAsync(model))
                lock (log._lines) log._lines.AddRange(batch.Select(line => line.Content));
        });
        return log;
    }

    /// <summary>How many lines so far: a position to read from later.</summary>
    public int Count
    {
        get { lock (_lines) return _lines.Count; }
    }

    /// <summary>The lines from <paramref name="position"/> on, as one text.</summary>
    public string From(int position)
    {
        lock (_lines) return string.Join('\n', _lines.Skip(position));
    }
}
