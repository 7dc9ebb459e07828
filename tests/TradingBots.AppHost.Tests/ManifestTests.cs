using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;
using TradingBots.Tests;

namespace TradingBots.AppHost.Tests;

/// <summary>The AppHost run as a program: its manifest, and what it says when its ports are taken.</summary>
public sealed class ManifestTests
{
    /// <summary>A second run while one runs (here: a port the test holds) stops at once and says which port is taken.</summary>
    [Fact]
    public async Task A_run_whose_port_is_taken_stops_at_once_saying_so()
    {
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        var port = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port;
        var data = Path.Combine(Path.GetTempPath(), $"tradingbots-apphost-{Guid.NewGuid():N}");
        try
        {
            var (code, output) = await RunAppHostAsync("--no-launch-profile", "--", "--Servers:Mode=local", $"--Servers:PostgresPort={port}", $"--Servers:DataPath={data}");
            Assert.NotEqual(0, code);
            Assert.Contains($"127.0.0.1:{port} (Servers:PostgresPort) is taken", output);
            Assert.False(Directory.Exists(data), "nothing was set up");
        }
        finally
        {
            if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
        }
    }

    private static async Task<(int Code, string Output)> RunAppHostAsync(params string[] args)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var start = new ProcessStartInfo("dotnet", ["run", "--no-build", "--project", Path.Combine(RepoRoot.Directory, "TradingBots.AppHost"), .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var log = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromMinutes(3), cancellationToken);
        return (process.ExitCode, await log + await errors);
    }

    [Fact]
    public async Task The_checked_in_manifest_is_what_the_apphost_publishes()
    {
        var repo = RepoRoot.Directory;
        var output = Path.Combine(Path.GetTempPath(), $"tradingbots-manifest-{Guid.NewGuid():N}");
        Directory.CreateDirectory(output);
        try
        {
            var published = Path.Combine(output, "aspire-manifest.json");
            var (code, log) = await RunAppHostAsync("--no-launch-profile", "--", "--publisher", "manifest", "--output-path", published);
            Assert.True(code == 0, $"publishing failed ({code}): {log}");

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
