using System.Reflection;

namespace TradingBots.AppHost;

/// <summary>
/// How a service's process is started on this machine. Aspire starts a project through <c>dotnet run --no-build</c>,
/// which evaluates the project with MSBuild first: about 2 s of CPU for each of the eight on these 2 cores, all at once.
/// The AppHost's build has already built every service, so in run mode each starts as <c>dotnet exec</c> of its built
/// assembly (the same configuration as the AppHost's) from its project directory, as <c>dotnet run</c> would. Everything
/// else about the project resource (endpoints, environment, references, waits, health checks) is unchanged, and so is
/// what publishing describes.
/// </summary>
public static class Launch
{
    private static readonly string Configuration =
        typeof(Launch).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    public static IResourceBuilder<ProjectResource> FromBuiltAssembly(this IResourceBuilder<ProjectResource> project)
    {
        if (!project.ApplicationBuilder.ExecutionContext.IsRunMode) return project;
        var csproj = project.Resource.GetProjectMetadata().ProjectPath;
        var directory = Path.GetDirectoryName(csproj)!;
        var assembly = Path.Combine(directory, "bin", Configuration, "net10.0", Path.GetFileNameWithoutExtension(csproj) + ".dll");
        // Not where a plain build puts it (another output layout): dotnet run, as Aspire does by default.
        if (!File.Exists(assembly)) return project;
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        return project
            .WithAnnotation(new ExecutableAnnotation { Command = dotnet, WorkingDirectory = directory }, ResourceAnnotationMutationBehavior.Replace)
            .WithArgs("exec", assembly);
    }
}
