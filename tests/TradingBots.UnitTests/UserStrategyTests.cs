using TradingBots.Backtests;
using TradingBots.Strategies;
using TradingBots.Strategies.Users;
using TradingBots.Tests;

namespace TradingBots.UnitTests;

/// <summary>
/// User strategies compiled from source: one that compiles trades exactly as written; one that does not is refused with
/// the compiler's diagnostics at their file, line and column; what a strategy may not use is refused the same way; and a
/// strategy that throws, loops, allocates or recurses without bound fails its call with the reason, never the process.
/// </summary>
public sealed class UserStrategyTests
{
    private static readonly StrategyLimits Limits = new(TimeSpan.FromMilliseconds(200), 16L * 1024 * 1024);
    private static readonly StrategyCompiler Compiler = new(Limits);

    /// <summary>Buys order_quote when the close is below `below`, sells every open trade above `above`; one knob each.</summary>
    private const string Threshold = """
        namespace Mine;

        public sealed class Threshold : IStrategyLogic
        {
            public string Description => "buy below a price, sell above another";

            public IReadOnlyList<KnobSpec> Knobs { get; } =
            [
                new("below", KnobType.Decimal, 100, 0, 1_000_000, "buy when the close is below this"),
                new("above", KnobType.Decimal, 110, 0, 1_000_000, "sell when the close is above this"),
                StrategyParts.OrderQuoteKnob,
            ];

            public int CandlesNeeded(KnobValues knobs) => 1;

            public IEnumerable<(string Knob, string Reason)> Conflicts(KnobValues knobs)
            {
                if (knobs.Decimal("below") >= knobs.Decimal("above")) yield return ("below", "must be below above");
            }

            public IReadOnlyList<StrategyOrder> Decide(StrategyInput input)
            {
                var open = StrategyParts.OpenOfSymbol(input);
                if (input.Price < input.Knobs.Decimal("below") && open.Count == 0) return [StrategyOrder.Buy(input.Symbol, input.Knobs.Decimal(StrategyParts.OrderQuote), "cheap")];
                if (input.Price > input.Knobs.Decimal("above")) return StrategyParts.CloseAll(open, "dear");
                return [];
            }
        }
        """;

    private static UserStrategy Load(string code, string file = "mine.cs")
    {
        var compiled = Compiler.Compile(new StrategyCode("mine", [(file, code)]));
        Assert.True(compiled.Logic is not null, string.Join("\n", compiled.Diagnostics));
        return UserStrategy.Create("mine", 1, compiled.Logic!, Limits);
    }

    private static IReadOnlyList<StrategyDiagnostic> Refused(string code, string file = "mine.cs")
    {
        var compiled = Compiler.Compile(new StrategyCode("mine", [(file, code)]));
        Assert.Null(compiled.Logic);
        return compiled.Diagnostics;
    }

    /// <summary>A strategy whose Decide is <paramref name="body"/> (a block), with no knobs and one candle needed.</summary>
    private static string Deciding(string body, string members = "") => $$"""
        public sealed class Bad : IStrategyLogic
        {
            public string Description => "misbehaves";
            public IReadOnlyList<KnobSpec> Knobs => [];
            public int CandlesNeeded(KnobValues knobs) => 1;
            public IReadOnlyList<StrategyOrder> Decide(StrategyInput input)
            {
        {{body}}
            }
        {{members}}
        }
        """;

    private static StrategyInput Input(decimal close) =>
        new("BTC/USDT", [new Candle(0, close, close, close, close, 1)], close, [], KnobValues.Parse("{}", []));

    [Fact]
    public void A_strategy_that_compiles_is_listed_with_its_knobs_and_backtests_to_the_exact_trade()
    {
        var strategy = Load(Threshold);
        Assert.Equal(("mine", 1, "buy below a price, sell above another"), (strategy.Name, strategy.Version, strategy.Description));
        Assert.Equal(["below", "above", "order_quote"], strategy.Knobs.Select(k => k.Name));

        var conflict = System.Text.Json.JsonDocument.Parse("""{"below": 120, "above": 110}""").RootElement;
        Assert.Equal(["must be below above"], StrategyRegistry.Validate(strategy, conflict)["knobs.below"]);

        // Closes 105, 99, 104, 111, 111 (each candle opens at the close before). Candle 1 closes at 99 < 100: bought at
        // candle 2's open, 99: 100 / 99 = 1.010101010101 (12 places, rounded down), fee 0.1. Candle 3 closes at 111 > 110:
        // sold at candle 4's open, 111: 1.010101010101 × 111 = 112.121212121211, fee 0.112121212121;
        // PnL 112.121212121211 − 0.112121212121 − 100 − 0.1 = 11.90909090909.
        decimal[] closes = [105, 99, 104, 111, 111];
        var candles = closes.Select((c, i) => new Candle(i * 60_000L, i == 0 ? c : closes[i - 1], Math.Max(c, i == 0 ? c : closes[i - 1]),
            Math.Min(c, i == 0 ? c : closes[i - 1]), c, 1)).ToArray();
        var setup = new BacktestSetup(strategy, KnobValues.Parse("{}", StrategyRegistry.KnobsOf(strategy)), ["BTC/USDT"], "1m", 0, 5 * 60_000L, 1000m, 0.001m);
        var result = Backtester.Run(setup, new Dictionary<string, Candle[]> { ["BTC/USDT"] = candles }, cancellationToken: TestContext.Current.CancellationToken);

        var trade = Assert.Single(result.Trades);
        Assert.Equal((99m, 1.010101010101m, 111m, 11.90909090909m), (trade.EntryPrice, trade.Qty, trade.ExitPrice!.Value, trade.RealizedPnlQuote!.Value));
    }

    [Fact]
    public void The_readmes_example_compiles_and_trades_its_breakout_exactly()
    {
        var strategy = Load(File.ReadAllText(RepoRoot.File("docs", "strategies", "donchian.cs")), "donchian.cs");
        var knobs = System.Text.Json.JsonDocument.Parse("""{"entry": 3, "exit": 2}""").RootElement;
        Assert.Empty(StrategyRegistry.Validate(strategy, knobs));

        // Closes 10, 11, 12, 11, 12.5, 12, 10.5, 10.5 (each candle opens at the close before; high and low its open and close).
        // Candle 4 closes at 12.5, above the highest high of candles 1-3 (12): bought at candle 5's open, 12.5: 100 / 12.5 = 8,
        // fee 0.1. Candle 6 closes at 10.5, below the lowest low of candles 4-5 (11): sold at candle 7's open, 10.5: 84, fee
        // 0.084; PnL 84 − 0.084 − 100 − 0.1 = −16.184.
        decimal[] closes = [10, 11, 12, 11, 12.5m, 12, 10.5m, 10.5m];
        var candles = closes.Select((c, i) => new Candle(i * 60_000L, i == 0 ? c : closes[i - 1], Math.Max(c, i == 0 ? c : closes[i - 1]),
            Math.Min(c, i == 0 ? c : closes[i - 1]), c, 1)).ToArray();
        var setup = new BacktestSetup(strategy, new KnobValues(knobs, StrategyRegistry.KnobsOf(strategy)), ["BTC/USDT"], "1m", 0, 8 * 60_000L, 1000m, 0.001m);
        var result = Backtester.Run(setup, new Dictionary<string, Candle[]> { ["BTC/USDT"] = candles }, cancellationToken: TestContext.Current.CancellationToken);

        var trade = Assert.Single(result.Trades);
        Assert.Equal((12.5m, 8m, 10.5m, -16.184m), (trade.EntryPrice, trade.Qty, trade.ExitPrice!.Value, trade.RealizedPnlQuote!.Value));
    }

    [Fact]
    public void A_file_that_does_not_compile_is_refused_with_the_compilers_diagnostics_at_their_lines()
    {
        var diagnostics = Refused(Threshold.Replace("return [];", "return [] // no semicolon"), "folder/threshold.cs");

        var missing = Assert.Single(diagnostics);
        Assert.Equal(("folder/threshold.cs", 26), (missing.File, missing.Line));
        Assert.Equal("CS1002: ; expected", missing.Message);
    }

    [Theory]
    [InlineData("System.IO.File.ReadAllText(\"/etc/passwd\");", "System.IO.File")]
    [InlineData("System.Environment.Exit(1);", "System.Environment")]
    [InlineData("System.Threading.Thread.Sleep(10);", "System.Threading.Thread")]
    [InlineData("var t = System.Threading.Tasks.Task.Run(() => 1);", "System.Threading.Tasks.Task`1")]
    [InlineData("var m = typeof(string).GetMethods();", "System.Type")]
    [InlineData("var a = System.Reflection.Assembly.Load(\"x\");", "System.Reflection.Assembly")]
    [InlineData("System.Runtime.InteropServices.Marshal.AllocHGlobal(1);", "System.Runtime.InteropServices.Marshal")]
    [InlineData("GC.Collect();", "System.GC")]
    public void What_a_strategy_may_not_use_is_refused_at_its_line(string statement, string named)
    {
        var diagnostics = Refused(Deciding($"        {statement}\n        return [];"));

        Assert.Contains(diagnostics, d => d.Line == 8 && d.Message.StartsWith($"TB0001: '{named}' is not allowed in a strategy", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Span<byte> s = stackalloc byte[16];", "stackalloc is not allowed")]
    public void Constructs_that_could_end_the_process_are_refused(string statement, string reason)
    {
        var diagnostics = Refused(Deciding($"        {statement}\n        return [];"));

        Assert.Contains(diagnostics, d => d.Line == 8 && d.Message.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void Exactly_one_strategy_class_is_asked_for()
    {
        var two = Threshold + "\n" + Deciding("        return [];").Replace("class Bad", "class Other");

        var diagnostic = Assert.Single(Refused(two));
        Assert.Equal("declare exactly one public class implementing IStrategyLogic with a public parameterless constructor (found Other, Threshold)", diagnostic.Message);
        Assert.Equal("declare exactly one public class implementing IStrategyLogic with a public parameterless constructor (found none)",
            Assert.Single(Refused("public sealed class Nothing { }")).Message);
    }

    [Fact]
    public void A_strategy_that_throws_fails_its_call_saying_what_it_threw()
    {
        var strategy = Load(Deciding("        throw new InvalidOperationException(\"no idea\");"));

        var failure = Assert.Throws<StrategyFailedException>(() => strategy.Decide(Input(100)));
        Assert.Equal("mine@1: Decide threw InvalidOperationException: no idea", failure.Message);
    }

    [Theory]
    [InlineData("        while (true) { }", "mine@1: Decide took longer than its budget of 200 ms per call")]
    [InlineData("        var n = 0;\n        again: n++;\n        goto again;", "mine@1: Decide took longer than its budget of 200 ms per call")]
    [InlineData("        var n = 1;\n        switch (n) { case 1: goto case 2; case 2: goto case 1; default: return []; }", "mine@1: Decide took longer than its budget of 200 ms per call")]
    [InlineData("        var all = new List<decimal[]>();\n        for (;;) all.Add(new decimal[100_000]);", "mine@1: Decide allocated more than its budget of 16 MiB per call")]
    [InlineData("        return Depth(0) > 0 ? [] : [];", "mine@1: Decide recursed deeper than the stack allows",
        "    private static int Depth(int n) => 1 + Depth(n + 1);")]
    [InlineData("        return Forever > 0 ? [] : [];", "mine@1: Decide recursed deeper than the stack allows",
        "    private int Forever => 1 + Forever;")]
    [InlineData("        while (true) { try { while (true) { } } catch (Exception) { } }", "mine@1: Decide took longer than its budget of 200 ms per call")]
    [InlineData("        try { while (true) { } } catch { }\n        return [];", "mine@1: Decide took longer than its budget of 200 ms per call")]
    public void A_strategy_over_its_budget_fails_its_call_with_the_reason(string body, string reason, string members = "")
    {
        var strategy = Load(Deciding(body, members));

        Assert.Equal(reason, OnSmallStack(() => strategy.Decide(Input(100))).Message);
        // The budget is the call's: the next call has its own (and fails again the same way, not at once).
        Assert.Equal(reason, OnSmallStack(() => strategy.Decide(Input(100))).Message);
    }

    /// <summary>
    /// The call's failure, the call made on a thread of 256 KiB of stack: deep recursion meets the stack's limit within
    /// milliseconds, whatever stack the test runner's threads have (on a large one, the time budget came first).
    /// </summary>
    private static StrategyFailedException OnSmallStack(Action call)
    {
        Exception? thrown = null;
        var thread = new Thread(() =>
        {
            try { call(); }
            catch (Exception ex) { thrown = ex; }
        }, 256 * 1024);
        thread.Start();
        thread.Join();
        return Assert.IsType<StrategyFailedException>(thrown);
    }

    [Fact]
    public void A_constructor_that_never_returns_is_a_diagnostic()
    {
        var diagnostic = Assert.Single(Refused(Deciding("        return [];", "    public Bad() { while (true) { } }")));
        Assert.Equal("its constructor took longer than its budget of 200 ms per call", diagnostic.Message);
    }

    /// <summary>
    /// The time budget judges the thread's CPU time (Linux's per-thread clock): a call whose thread waited (here asleep, as
    /// on a busy machine) is not over its budget, one that spent it computing is, and one still running after ten times its
    /// budget of wall time is whatever its CPU time.
    /// </summary>
    [Fact]
    public void The_time_budget_counts_the_threads_cpu_time_up_to_ten_times_the_budget_of_wall_time()
    {
        Assert.True(OperatingSystem.IsLinux(), "these machines are Linux: the per-thread CPU clock is there");
        var budget = TimeSpan.FromMilliseconds(40);
        const string over = "took longer than its budget of 40 ms per call";

        // Thread.Sleep is the subject here, not a wait for something: a thread off its core while wall time passes.
        Assert.Null(StrategyBudget.Run(() => { Thread.Sleep(150); return StrategyBudget.Check(); }, budget, long.MaxValue).Exceeded);
        Assert.Equal(over, StrategyBudget.Run(() =>
        {
            var until = System.Diagnostics.Stopwatch.GetTimestamp() + System.Diagnostics.Stopwatch.Frequency; // 1 s of computing at most
            while (System.Diagnostics.Stopwatch.GetTimestamp() < until) StrategyBudget.Check();
            return true;
        }, budget, long.MaxValue).Exceeded);
        Assert.Equal(over, StrategyBudget.Run(() => { Thread.Sleep(450); return StrategyBudget.Check(); }, budget, long.MaxValue).Exceeded);
    }
}
