namespace TradingBots.Runner;

/// <summary>Finds the repository (the folder holding aspire-manifest.json) above the working directory or the binaries.</summary>
public static class RepoRoot
{
    public static string File(string name)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, name);
                if (System.IO.File.Exists(candidate)) return candidate;
            }
        }
        throw new RunnerException($"{name} not found above {Directory.GetCurrentDirectory()}");
    }
}
