namespace TradingBots.Runner;

public static class StartupTable
{
    /// <summary>One line per resource: what it is and where it answers.</summary>
    public static void Print(Topology topology, TextWriter output)
    {
        var rows = topology.Manifest.Resources
            .Where(r => r.IsProject || r.IsContainer)
            .Select(r => (r.Name, Kind: r.IsProject ? "service" : "local server", Address: Address(topology, r)))
            .ToList();
        var width = rows.Max(r => r.Name.Length) + 2;
        output.WriteLine();
        output.WriteLine($"{"NAME".PadRight(width)}{"KIND",-14}ADDRESS");
        foreach (var (name, kind, address) in rows)
        {
            output.WriteLine($"{name.PadRight(width)}{kind,-14}{address}");
        }
        output.WriteLine();
    }

    private static string Address(Topology topology, ManifestResource resource) =>
        resource.BindingNames.FirstOrDefault() is { } binding
            ? topology.Resolver.Resolve($"{{{resource.Name}.bindings.{binding}.url}}")
            : resource.IsProject ? "(job: completed)" : "-";
}
