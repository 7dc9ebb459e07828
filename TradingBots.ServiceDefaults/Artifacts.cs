using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace TradingBots;

/// <summary>Where run artifacts live (<c>Artifacts__Path</c>): the Worker writes a backtest's, the Bots service serves them, the gateway checks the directory.</summary>
public sealed class ArtifactsOptions
{
    public const string Section = "Artifacts";

    /// <summary>Where run artifacts are written; relative paths are taken from the working directory.</summary>
    [Required]
    public string Path { get; set; } = "storage/artifacts";

    public string FullPath => System.IO.Path.GetFullPath(Path);

    /// <summary>The directory of one job's artifacts: <c>&lt;path&gt;/&lt;job_id&gt;/</c>.</summary>
    public string JobPath(long jobId) => System.IO.Path.Combine(FullPath, jobId.ToString(System.Globalization.CultureInfo.InvariantCulture));
}

public static class ArtifactsExtensions
{
    public static IHostApplicationBuilder AddArtifacts(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ArtifactsOptions>().BindConfiguration(ArtifactsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        return builder;
    }
}
