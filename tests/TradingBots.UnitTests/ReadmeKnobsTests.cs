using System.Globalization;
using System.Text;
using TradingBots.Tests;
using TradingBots.Strategies;

namespace TradingBots.UnitTests;

/// <summary>The README's knob tables are the declarations, written out: a knob changed in code and not in the README fails here.</summary>
public sealed class ReadmeKnobsTests
{
    public static string Table(IStrategy strategy)
    {
        static string Number(decimal? value) => value is { } v ? (v / 1.000000000000000000000000000000000m).ToString(CultureInfo.InvariantCulture) : "—";
        var table = new StringBuilder($"| `{StrategyRegistry.Key(strategy)}` knob | type | default | range | meaning |\n|---|---|---|---|---|\n");
        foreach (var (knob, scope) in strategy.Knobs.Select(k => (k, "")).Concat(BotKnobs.All.Select(k => (k, " (every bot)"))))
        {
            var (type, unit) = knob.Type switch
            {
                KnobType.Integer => ("integer", ""), KnobType.Text => ("text", " characters"), KnobType.Boolean => ("boolean", ""), _ => ("number", ""),
            };
            var (@default, range) = (knob.Type, knob.Choices) switch
            {
                (KnobType.Boolean, _) => (knob.Default is { } d ? (d != 0 ? "true" : "false") : "—", "true, false"),
                (_, { } choices) => (Number(knob.Default), string.Join(", ", choices.Select(c => $"`{c}`"))),
                _ => (Number(knob.Default), $"{Number(knob.Min)} … {Number(knob.Max)}{unit}"),
            };
            table.Append($"| `{knob.Name}`{scope}{(knob.Required ? " (required)" : "")} | {type} | {@default} | {range} | {knob.Description} |\n");
        }
        return table.ToString();
    }

    [Fact]
    public void The_readme_lists_every_strategys_knobs_as_declared()
    {
        var readme = File.ReadAllText(RepoRoot.File("README.md")).ReplaceLineEndings("\n");

        Assert.All(StrategyRegistry.All, strategy => Assert.True(readme.Contains(Table(strategy), StringComparison.Ordinal),
            $"README.md should hold this table, as declared:\n{Table(strategy)}"));
    }
}
