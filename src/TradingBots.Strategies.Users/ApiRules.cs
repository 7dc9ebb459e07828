using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace TradingBots.Strategies.Users;

/// <summary>
/// What a user strategy may use: pure computation. The contract and indicators, the base types, collections, LINQ, text
/// and numbers; not files, the network, processes, threads, reflection, interop, the console or the environment. A use of
/// anything else is a compile error of the strategy, at its line. This keeps a strategy the pure function a bot and its
/// backtest both rely on; it is not a security boundary against a hostile author (run only strategies you trust).
/// </summary>
internal static class ApiRules
{
    private static readonly HashSet<string> AllowedNamespaces =
    [
        "System", "System.Collections", "System.Collections.Generic", "System.Linq", "System.Text", "System.Globalization",
        "System.Numerics", "System.Diagnostics.CodeAnalysis", "TradingBots.Strategies", "TradingBots.Strategies.Indicators",
    ];

    /// <summary>Types of the allowed namespaces that reach outside the strategy (or, for <see cref="Type"/>, into reflection).</summary>
    private static readonly HashSet<string> DeniedTypes =
    [
        "System.Environment", "System.AppDomain", "System.AppContext", "System.GC", "System.Activator", "System.Console", "System.Type",
        "System.Linq.ParallelEnumerable", "System.Linq.ParallelQuery", "System.Linq.ParallelQuery`1", "TradingBots.Strategies.StrategyBudget",
    ];

    public static IEnumerable<Diagnostic> Check(SyntaxTree tree, SemanticModel model, IAssemblySymbol own)
    {
        foreach (var node in tree.GetRoot().DescendantNodes())
        {
            switch (node)
            {
                case StackAllocArrayCreationExpressionSyntax or ImplicitStackAllocArrayCreationExpressionSyntax:
                    yield return Error(node, "stackalloc is not allowed in a strategy (a large one ends the process)");
                    continue;
                case DestructorDeclarationSyntax:
                    yield return Error(node, "a finalizer is not allowed in a strategy (it would run outside any budget)");
                    continue;
                case MethodDeclarationSyntax method when method.Modifiers.Any(SyntaxKind.ExternKeyword):
                    yield return Error(method, "extern methods are not allowed in a strategy");
                    continue;
                case MakeRefExpressionSyntax or RefTypeExpressionSyntax or RefValueExpressionSyntax:
                    yield return Error(node, "__makeref, __reftype and __refvalue are not allowed in a strategy");
                    continue;
                case SimpleNameSyntax or ObjectCreationExpressionSyntax or ImplicitObjectCreationExpressionSyntax or ElementAccessExpressionSyntax:
                    var info = model.GetSymbolInfo(node);
                    if ((info.Symbol ?? info.CandidateSymbols.FirstOrDefault()) is { } symbol && Denied(symbol, own) is { } name)
                        yield return Error(node, $"'{name}' is not allowed in a strategy: only the strategy contract, indicators, collections, LINQ, text and numbers are");
                    continue;
            }
        }
    }

    /// <summary>The outermost type (or namespace) behind a symbol, when it is not allowed.</summary>
    private static string? Denied(ISymbol symbol, IAssemblySymbol own)
    {
        if (symbol is INamespaceSymbol) return null;
        var type = symbol as ITypeSymbol ?? symbol.ContainingType;
        while (type is IArrayTypeSymbol array) type = array.ElementType;
        if (type is null or ITypeParameterSymbol or IDynamicTypeSymbol) return null;
        while (type.ContainingType is { } outer) type = outer;
        if (SymbolEqualityComparer.Default.Equals(type.ContainingAssembly, own)) return null;
        if (type is IPointerTypeSymbol or IFunctionPointerTypeSymbol) return type.ToDisplayString();
        var ns = type.ContainingNamespace?.ToDisplayString() ?? "";
        var full = string.IsNullOrEmpty(ns) ? type.MetadataName : $"{ns}.{type.MetadataName}";
        return !AllowedNamespaces.Contains(ns) || DeniedTypes.Contains(full) ? full : null;
    }

#pragma warning disable RS2008 // not an analyzer package: the platform's own check, reported with the compiler's diagnostics
    private static readonly DiagnosticDescriptor NotAllowed = new("TB0001", "Not allowed in a strategy", "{0}", "Strategy", DiagnosticSeverity.Error, true);
#pragma warning restore RS2008

    private static Diagnostic Error(SyntaxNode node, string message) => Diagnostic.Create(NotAllowed, node.GetLocation(), message);
}
