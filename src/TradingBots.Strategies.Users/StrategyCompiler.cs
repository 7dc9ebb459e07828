using System.Reflection;
using System.Runtime.Loader;
using System.Security.Cryptography;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace TradingBots.Strategies.Users;

/// <summary>A user strategy's source: its name (the file's, or the folder's) and its C# files (path relative to the strategies folder, text).</summary>
public sealed record StrategyCode(string Name, IReadOnlyList<(string Path, string Text)> Files)
{
    /// <summary>The content's fingerprint: a change of any file (or of its path) is a new version.</summary>
    public string Sha256 { get; } = Hash(Files);

    private static string Hash(IReadOnlyList<(string Path, string Text)> files)
    {
        var text = new StringBuilder();
        foreach (var (path, content) in files.OrderBy(f => f.Path, StringComparer.Ordinal)) text.Append(path).Append('\0').Append(content).Append('\0');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}

/// <summary>Why a strategy cannot be used: where (file, line and column from 1) and what the compiler (or the platform) said.</summary>
public sealed record StrategyDiagnostic(string File, int Line, int Column, string Message)
{
    public override string ToString() => Line > 0 ? $"{File}({Line},{Column}): {Message}" : $"{File}: {Message}";
}

/// <summary>A compiled strategy's logic, or the diagnostics that stopped it.</summary>
public sealed record Compiled(IStrategyLogic? Logic, IReadOnlyList<StrategyDiagnostic> Diagnostics);

/// <summary>
/// Compiles a user strategy with Roslyn against the strategy contract alone (and the framework's base libraries), checks
/// it uses only what a strategy may (<see cref="ApiRules"/>), puts budget checks into it (<see cref="BudgetRewriter"/>),
/// and loads it into a collectible context of its own: exactly one public class implementing <see cref="IStrategyLogic"/>
/// with a public parameterless constructor. The files get the usings a .NET project gets, plus the contract's namespaces.
/// </summary>
public sealed class StrategyCompiler(StrategyLimits limits)
{
    private const string GlobalUsingsFile = "(global usings)";

    private static readonly string GlobalUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.Linq;
        global using TradingBots.Strategies;
        global using TradingBots.Strategies.Indicators;
        """;

    private static readonly CSharpParseOptions Parse = new(LanguageVersion.Latest);

    private static readonly Lazy<MetadataReference[]> References = new(() =>
    {
        string[] framework = ["System.Private.CoreLib", "System.Runtime", "System.Collections", "System.Linq", "System.Runtime.Numerics", "System.Memory", "System.Text.Json"];
        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return
        [
            .. trusted.Where(path => framework.Contains(Path.GetFileNameWithoutExtension(path))).Select(path => MetadataReference.CreateFromFile(path)),
            MetadataReference.CreateFromFile(typeof(IStrategyLogic).Assembly.Location),
        ];
    });

    public Compiled Compile(StrategyCode source)
    {
        var trees = source.Files.Select(f => CSharpSyntaxTree.ParseText(f.Text, Parse, f.Path, Encoding.UTF8))
            .Append(CSharpSyntaxTree.ParseText(GlobalUsings, Parse, GlobalUsingsFile, Encoding.UTF8)).ToList();
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release,
            allowUnsafe: false, nullableContextOptions: NullableContextOptions.Enable, concurrentBuild: false, deterministic: true);
        var compilation = CSharpCompilation.Create($"strategy-{source.Name}-{source.Sha256[..12]}", trees, References.Value, options);

        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        foreach (var tree in trees) errors.AddRange(ApiRules.Check(tree, compilation.GetSemanticModel(tree), compilation.Assembly));
        if (errors.Count > 0) return Failed(errors);

        var candidates = StrategyTypes(compilation).OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        if (candidates.Count != 1)
        {
            var found = candidates.Count == 0 ? "none" : string.Join(", ", candidates.Select(c => c.Name));
            return Failed(source, $"declare exactly one public class implementing IStrategyLogic with a public parameterless constructor (found {found})");
        }

        // The budget checks go into a copy of the checked trees; their diagnostics were read on the trees as written.
        var budgeted = compilation;
        foreach (var tree in trees)
        {
            var rewritten = new BudgetRewriter(compilation.GetSemanticModel(tree)).Visit(tree.GetRoot());
            budgeted = budgeted.ReplaceSyntaxTree(tree, tree.WithRootAndOptions(rewritten, tree.Options));
        }
        using var image = new MemoryStream();
        var emitted = budgeted.Emit(image);
        if (!emitted.Success) return Failed([.. emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)]);
        image.Position = 0;

        var assembly = new AssemblyLoadContext($"strategy {source.Name} {source.Sha256[..12]}", isCollectible: true).LoadFromStream(image);
        var type = assembly.GetType(MetadataName(candidates[0]), throwOnError: true)!;
        var (logic, exceeded) = StrategyBudget.Run(() => Create(type), limits.PerCall, limits.Bytes);
        return exceeded is null ? new(logic, []) : Failed(source, $"its constructor {exceeded}");
    }

    private static IStrategyLogic Create(Type type)
    {
        try
        {
            return (IStrategyLogic)Activator.CreateInstance(type)!;
        }
        catch (TargetInvocationException ex) when (ex.InnerException is { } inner)
        {
            throw inner;
        }
    }

    private static IEnumerable<INamedTypeSymbol> StrategyTypes(CSharpCompilation compilation)
    {
        var contract = compilation.GetTypeByMetadataName(typeof(IStrategyLogic).FullName!)!;
        return Types(compilation.Assembly.GlobalNamespace).Where(t => t is { TypeKind: TypeKind.Class, IsAbstract: false, DeclaredAccessibility: Accessibility.Public, IsGenericType: false }
            && t.AllInterfaces.Contains(contract, SymbolEqualityComparer.Default)
            && t.InstanceConstructors.Any(c => c.Parameters.Length == 0 && c.DeclaredAccessibility == Accessibility.Public));
    }

    private static IEnumerable<INamedTypeSymbol> Types(INamespaceSymbol ns) =>
        ns.GetTypeMembers().SelectMany(t => t.GetTypeMembers().Prepend(t)).Concat(ns.GetNamespaceMembers().SelectMany(Types));

    private static string MetadataName(INamedTypeSymbol type) =>
        type.ContainingType is { } outer ? $"{MetadataName(outer)}+{type.MetadataName}"
        : type.ContainingNamespace.IsGlobalNamespace ? type.MetadataName : $"{type.ContainingNamespace.ToDisplayString()}.{type.MetadataName}";

    private static Compiled Failed(IEnumerable<Diagnostic> diagnostics) => new(null, [.. diagnostics
        .Select(d => (Span: d.Location.GetLineSpan(), d))
        .OrderBy(x => x.Span.Path, StringComparer.Ordinal).ThenBy(x => x.Span.StartLinePosition.Line).ThenBy(x => x.Span.StartLinePosition.Character)
        .Select(x => new StrategyDiagnostic(x.Span.Path, x.Span.StartLinePosition.Line + 1, x.Span.StartLinePosition.Character + 1,
            $"{x.d.Id}: {x.d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}"))
        .Distinct().Take(50)]);

    private static Compiled Failed(StrategyCode source, string message) => new(null, [new(source.Files[0].Path, 0, 0, message)]);
}
