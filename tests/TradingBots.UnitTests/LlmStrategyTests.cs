using System.Text.Json;
using TradingBots.Strategies;

namespace TradingBots.UnitTests;

/// <summary>llm v1: a model's answer read strictly, and what the strategy does with it (min_confidence 0.6 unless said otherwise).</summary>
public sealed class LlmStrategyTests
{
    private static readonly Llm Strategy = new();

    private static StrategyInput Input(Advice? advice, OpenTrade[]? open = null, string knobs = """{"model": "llama3.2:3b", "min_confidence": 0.6}""") =>
        new("BTC/USDT", [.. Enumerable.Range(0, 60).Select(i => new Candle(i * 60_000L, 10, 11, 9, 10 + i, 1m))], 70m, open ?? [],
            KnobValues.Parse(knobs, StrategyRegistry.KnobsOf(Strategy)), 1, advice);

    private static OpenTrade Trade(long id, string symbol = "BTC/USDT") => new(id, symbol, 1m, 60m, 60m, 0.06m);

    [Theory]
    [InlineData("""{"action":"buy","confidence":0.8,"reason":"higher lows"}""", "buy", "0.8", "higher lows")]
    [InlineData("""{"reason":"  wait  ","confidence":1,"action":" HOLD "}""", "hold", "1", "wait")]
    [InlineData("""{"action":"sell","confidence":0,"reason":"x","extra":true}""", "sell", "0", "x")]
    public void An_answer_in_the_schema_is_advice(string answer, string action, string confidence, string reason)
    {
        var (advice, problem) = Advice.Parse(answer);

        Assert.Null(problem);
        Assert.Equal(new Advice(action, decimal.Parse(confidence, System.Globalization.CultureInfo.InvariantCulture), reason), advice);
    }

    [Theory]
    [InlineData("I cannot give financial advice.", "not JSON: I cannot give financial advice.")]
    [InlineData("""["buy"]""", "not a JSON object")]
    [InlineData("""{"action":"short","confidence":0.9,"reason":"x"}""", "action must be buy, sell or hold")]
    [InlineData("""{"action":"buy","confidence":"high","reason":"x"}""", "confidence must be a number from 0 to 1")]
    [InlineData("""{"action":"buy","confidence":1.5,"reason":"x"}""", "confidence must be a number from 0 to 1")]
    [InlineData("""{"action":"buy","confidence":0.5,"reason":" "}""", "reason must be a non-empty string")]
    [InlineData("""{"action":"buy","confidence":0.5}""", "reason must be a non-empty string")]
    public void Anything_else_is_a_problem_and_no_advice(string answer, string problem)
    {
        var (advice, said) = Advice.Parse(answer);

        Assert.Null(advice);
        Assert.StartsWith(problem, said);
    }

    [Fact]
    public void A_long_reason_is_cut_at_500_characters()
    {
        var (advice, _) = Advice.Parse($$"""{"action":"hold","confidence":0.5,"reason":"{{new string('r', 600)}}"}""");

        Assert.Equal(500, advice!.Reason.Length);
    }

    [Fact]
    public void A_confident_buy_without_an_open_trade_buys_order_quote()
    {
        var orders = Strategy.Decide(Input(new Advice("buy", 0.6m, "breakout"), open: [Trade(9, "ETH/USDT")]));

        Assert.Equal([StrategyOrder.Buy("BTC/USDT", 100m, "llama3.2:3b says buy (0.6): breakout")], orders);
    }

    [Fact]
    public void A_buy_with_a_trade_of_the_symbol_open_buys_nothing_more()
    {
        Assert.Empty(Strategy.Decide(Input(new Advice("buy", 0.9m, "more"), open: [Trade(1)])));
    }

    [Fact]
    public void A_confident_sell_closes_the_symbols_open_trades_only()
    {
        var orders = Strategy.Decide(Input(new Advice("sell", 0.95m, "faded"), open: [Trade(1), Trade(2), Trade(3, "ETH/USDT")]));

        Assert.Equal([1L, 2L], orders.Select(o => o.TradeId!.Value));
        Assert.All(orders, o => Assert.Equal(("sell", "llama3.2:3b says sell (0.95): faded"), (o.Side, o.Reason)));
    }

    [Theory]
    [InlineData("buy", "0.59")]
    [InlineData("sell", "0.1")]
    [InlineData("hold", "1")]
    public void Below_min_confidence_or_a_hold_does_nothing(string action, string confidence)
    {
        var advice = new Advice(action, decimal.Parse(confidence, System.Globalization.CultureInfo.InvariantCulture), "x");

        Assert.Empty(Strategy.Decide(Input(advice, open: [Trade(1)])));
    }

    [Fact]
    public void No_advice_holds()
    {
        Assert.Empty(Strategy.Decide(Input(null, open: [Trade(1)])));
    }

    [Fact]
    public void The_question_holds_the_last_candles_knob_closed_candles_and_the_symbols_trades()
    {
        var input = Input(null, open: [Trade(1), Trade(2, "ETH/USDT")],
            knobs: """{"model": "qwen2.5:0.5b", "prompt": " only strong moves ", "candles": 5}""");

        var request = Strategy.Ask(input, "1m");

        Assert.Equal(("qwen2.5:0.5b", "only strong moves", "BTC/USDT", "1m", 70m), (request.Model, request.Prompt, request.Symbol, request.Timeframe, request.Price));
        Assert.Equal([65m, 66m, 67m, 68m, 69m], request.Candles.Select(c => c.Close));
        Assert.Equal([1L], request.OpenTrades.Select(t => t.TradeId));
    }

    [Fact]
    public void Its_knobs_are_validated_as_declared()
    {
        static Dictionary<string, string[]> Errors(string knobs)
        {
            using var json = JsonDocument.Parse(knobs);
            return StrategyRegistry.Validate(StrategyRegistry.Find("llm")!, json.RootElement);
        }

        Assert.Equal(["is required"], Errors("{}")["knobs.model"]);
        Assert.Equal(["must be a string of 1 to 200 characters"], Errors("""{"model": 3}""")["knobs.model"]);
        Assert.Equal(["must be 1 to 200 characters long"], Errors("""{"model": "  "}""")["knobs.model"]);
        Assert.Equal(["must be from 0 to 1"], Errors("""{"model": "m", "min_confidence": 2}""")["knobs.min_confidence"]);
        Assert.Empty(Errors("""{"model": "m", "prompt": "careful", "candles": 5, "order_quote": 10, "tick_seconds": 60}"""));
    }
}
