using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace TradingBots.Strategies.Users;

/// <summary>
/// Puts a <see cref="StrategyBudget.Check"/> at the start of every method, accessor, constructor, operator, local function,
/// lambda and loop body of a user strategy, after every label and at each switch section (<c>goto</c> loops): whatever it loops on or recurses
/// through, the call stops at its next step once over budget. An expression body becomes <c>Check() ? (body) : throw null</c>
/// (a block when it returns nothing), so the check still comes first. The semantic model of the unchanged tree says which
/// bodies return nothing.
/// </summary>
internal sealed class BudgetRewriter(SemanticModel model) : CSharpSyntaxRewriter
{
    private static readonly StatementSyntax CheckStatement = SyntaxFactory.ParseStatement("global::TradingBots.Strategies.StrategyBudget.Check();");
    private static readonly ExpressionSyntax CheckCall = SyntaxFactory.ParseExpression("global::TradingBots.Strategies.StrategyBudget.Check()");

    public override SyntaxNode? VisitMethodDeclaration(MethodDeclarationSyntax node) =>
        Function((MethodDeclarationSyntax)base.VisitMethodDeclaration(node)!, node, (n, b, e) => n.WithBody(b).WithExpressionBody(e).WithSemicolonToken(Semicolon(b)));

    public override SyntaxNode? VisitLocalFunctionStatement(LocalFunctionStatementSyntax node) =>
        Function((LocalFunctionStatementSyntax)base.VisitLocalFunctionStatement(node)!, node, (n, b, e) => n.WithBody(b).WithExpressionBody(e).WithSemicolonToken(Semicolon(b)));

    public override SyntaxNode? VisitConstructorDeclaration(ConstructorDeclarationSyntax node) =>
        Function((ConstructorDeclarationSyntax)base.VisitConstructorDeclaration(node)!, node, (n, b, e) => n.WithBody(b).WithExpressionBody(e).WithSemicolonToken(Semicolon(b)));

    public override SyntaxNode? VisitOperatorDeclaration(OperatorDeclarationSyntax node) =>
        Function((OperatorDeclarationSyntax)base.VisitOperatorDeclaration(node)!, node, (n, b, e) => n.WithBody(b).WithExpressionBody(e).WithSemicolonToken(Semicolon(b)));

    public override SyntaxNode? VisitConversionOperatorDeclaration(ConversionOperatorDeclarationSyntax node) =>
        Function((ConversionOperatorDeclarationSyntax)base.VisitConversionOperatorDeclaration(node)!, node, (n, b, e) => n.WithBody(b).WithExpressionBody(e).WithSemicolonToken(Semicolon(b)));

    public override SyntaxNode? VisitAccessorDeclaration(AccessorDeclarationSyntax node) =>
        Function((AccessorDeclarationSyntax)base.VisitAccessorDeclaration(node)!, node, (n, b, e) => n.WithBody(b).WithExpressionBody(e).WithSemicolonToken(Semicolon(b)));

    /// <summary>An expression-bodied property or indexer (<c>int P => …;</c>): its getter's body.</summary>
    public override SyntaxNode? VisitPropertyDeclaration(PropertyDeclarationSyntax node)
    {
        var visited = (PropertyDeclarationSyntax)base.VisitPropertyDeclaration(node)!;
        return visited.ExpressionBody is { Expression: not RefExpressionSyntax } body ? visited.WithExpressionBody(body.WithExpression(Guarded(body.Expression))) : visited;
    }

    public override SyntaxNode? VisitIndexerDeclaration(IndexerDeclarationSyntax node)
    {
        var visited = (IndexerDeclarationSyntax)base.VisitIndexerDeclaration(node)!;
        return visited.ExpressionBody is { Expression: not RefExpressionSyntax } body ? visited.WithExpressionBody(body.WithExpression(Guarded(body.Expression))) : visited;
    }

    public override SyntaxNode? VisitParenthesizedLambdaExpression(ParenthesizedLambdaExpressionSyntax node) =>
        Lambda((ParenthesizedLambdaExpressionSyntax)base.VisitParenthesizedLambdaExpression(node)!, node);

    public override SyntaxNode? VisitSimpleLambdaExpression(SimpleLambdaExpressionSyntax node) =>
        Lambda((SimpleLambdaExpressionSyntax)base.VisitSimpleLambdaExpression(node)!, node);

    public override SyntaxNode? VisitAnonymousMethodExpression(AnonymousMethodExpressionSyntax node)
    {
        var visited = (AnonymousMethodExpressionSyntax)base.VisitAnonymousMethodExpression(node)!;
        return visited.WithBlock((BlockSyntax)Prepend(visited.Block));
    }

    public override SyntaxNode? VisitWhileStatement(WhileStatementSyntax node) =>
        ((WhileStatementSyntax)base.VisitWhileStatement(node)!) is var v ? v.WithStatement(Prepend(v.Statement)) : null;

    public override SyntaxNode? VisitDoStatement(DoStatementSyntax node) =>
        ((DoStatementSyntax)base.VisitDoStatement(node)!) is var v ? v.WithStatement(Prepend(v.Statement)) : null;

    public override SyntaxNode? VisitForStatement(ForStatementSyntax node) =>
        ((ForStatementSyntax)base.VisitForStatement(node)!) is var v ? v.WithStatement(Prepend(v.Statement)) : null;

    public override SyntaxNode? VisitForEachStatement(ForEachStatementSyntax node) =>
        ((ForEachStatementSyntax)base.VisitForEachStatement(node)!) is var v ? v.WithStatement(Prepend(v.Statement)) : null;

    public override SyntaxNode? VisitForEachVariableStatement(ForEachVariableStatementSyntax node) =>
        ((ForEachVariableStatementSyntax)base.VisitForEachVariableStatement(node)!) is var v ? v.WithStatement(Prepend(v.Statement)) : null;

    /// <summary>A switch section (<c>goto case</c> loops through them).</summary>
    public override SyntaxNode? VisitSwitchSection(SwitchSectionSyntax node) =>
        ((SwitchSectionSyntax)base.VisitSwitchSection(node)!) is var v ? v.WithStatements(v.Statements.Insert(0, CheckStatement)) : null;

    public override SyntaxNode? VisitLabeledStatement(LabeledStatementSyntax node) =>
        ((LabeledStatementSyntax)base.VisitLabeledStatement(node)!) is var v ? v.WithStatement(Prepend(v.Statement)) : null;

    private delegate T WithBodies<T>(T node, BlockSyntax? body, ArrowExpressionClauseSyntax? expression);

    /// <summary>A function-like member: its block starts with the check; an expression body is guarded, or made a block when it returns nothing.</summary>
    private T Function<T>(T visited, SyntaxNode original, WithBodies<T> with) where T : SyntaxNode
    {
        var (body, expression) = visited switch
        {
            BaseMethodDeclarationSyntax m => (m.Body, m.ExpressionBody),
            LocalFunctionStatementSyntax f => (f.Body, f.ExpressionBody),
            AccessorDeclarationSyntax a => (a.Body, a.ExpressionBody),
            _ => (null, null),
        };
        if (body is not null) return with(visited, (BlockSyntax)Prepend(body), null);
        if (expression is null || expression.Expression is RefExpressionSyntax) return visited; // no body (abstract, partial), or a ref return
        if (ReturnsNothing(original) is not { } nothing) return visited;
        if (nothing) return with(visited, SyntaxFactory.Block(CheckStatement, SyntaxFactory.ExpressionStatement(expression.Expression)), null);
        return with(visited, null, expression.WithExpression(Guarded(expression.Expression)));
    }

    private SyntaxNode Lambda(LambdaExpressionSyntax visited, LambdaExpressionSyntax original)
    {
        if (visited.Block is { } block) return visited.WithBlock((BlockSyntax)Prepend(block));
        if (visited.ExpressionBody is not { } expression || expression is RefExpressionSyntax || ReturnsNothing(original) is not { } nothing) return visited;
        return nothing
            ? visited.WithExpressionBody(null).WithBlock(SyntaxFactory.Block(CheckStatement, SyntaxFactory.ExpressionStatement(expression)))
            : visited.WithExpressionBody(Guarded(expression));
    }

    /// <summary>Whether the function returns nothing (void); null when the model cannot say (it is then left as written).</summary>
    private bool? ReturnsNothing(SyntaxNode original) => original switch
    {
        ConstructorDeclarationSyntax or DestructorDeclarationSyntax => true,
        AccessorDeclarationSyntax a => !a.IsKind(SyntaxKind.GetAccessorDeclaration),
        LambdaExpressionSyntax lambda => (model.GetSymbolInfo(lambda).Symbol as IMethodSymbol)?.ReturnsVoid,
        _ => (model.GetDeclaredSymbol(original) as IMethodSymbol)?.ReturnsVoid,
    };

    /// <summary><c>Check() ? (expression) : throw null</c>: the value of the expression, after the check.</summary>
    private static ExpressionSyntax Guarded(ExpressionSyntax expression) =>
        SyntaxFactory.ConditionalExpression(CheckCall, SyntaxFactory.ParenthesizedExpression(expression),
            SyntaxFactory.ThrowExpression(SyntaxFactory.LiteralExpression(SyntaxKind.NullLiteralExpression)));

    private static StatementSyntax Prepend(StatementSyntax statement) =>
        statement is BlockSyntax block ? block.WithStatements(block.Statements.Insert(0, CheckStatement)) : SyntaxFactory.Block(CheckStatement, statement);

    private static SyntaxToken Semicolon(BlockSyntax? body) => body is null ? SyntaxFactory.Token(SyntaxKind.SemicolonToken) : default;
}
