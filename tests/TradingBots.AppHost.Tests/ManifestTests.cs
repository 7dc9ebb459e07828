using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace TradingBots.AppHost.Tests;

/// <summary>aspire-manifest.json is what the AppHost publishes, so it can never drift from it.</summary>
public sealed class ManifestTests
{
    [Fact]
    public async Task The_checked_in_manifest_is_what_the_apphost_publishes()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var repo = LocalAppHost.RepoRoot();
        var output = Path.Combine(Path.GetTempPath(), $"tradingbots-manifest-{Guid.NewGuid():N}");
        Directory.CreateDirectory(output);
        try
        {
            var published = Path.Combine(output, "aspire-manifest.json");
            var start = new ProcessStartInfo("dotnet", ["run", "--no-build", "--no-launch-profile", "--project", Path.Combine(repo, "TradingBots.AppHost"),
                "--", "--publisher", "manifest", "--output-path", published]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var log = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromMinutes(3), cancellationToken);
            Assert.True(process.ExitCode == 0, $"publishing failed ({process.ExitCode}): {await log} {await errors}");

            Assert.Equal(Normalized(Path.Combine(repo, "aspire-manifest.json")), Normalized(published));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    /// <summary>The manifest with each project's path made absolute (the file gives it relative to where the file is).</summary>
    private static string Normalized(string file)
    {
        var manifest = JsonNode.Parse(File.ReadAllText(file))!;
        foreach (var (_, resource) in manifest["resources"]!.AsObject())
        {
            if (resource?["path"] is JsonValue path)
                resource["path"] = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, path.GetValue<string>()));
        }
        return manifest.ToJsonString();
    }
}
