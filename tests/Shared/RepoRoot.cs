namespace TradingBots.Tests;

/// <summary>The repository the tests were built from: the directory above their binaries that holds TradingBots.sln.</summary>
public static class RepoRoot
{
    public static string Directory { get; } = Find();

    /// <summary>A path under the repository.</summary>
    public static string File(params string[] parts) => Path.Combine([Directory, .. parts]);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "TradingBots.sln"))) return dir.FullName;
        throw new InvalidOperationException("TradingBots.sln not found above the test binaries");
    }
}
