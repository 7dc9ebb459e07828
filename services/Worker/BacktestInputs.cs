using Npgsql;
using TradingBots.Backtests;
using TradingBots.Data;
using TradingBots.Paper;
using TradingBots.Strategies;
using TradingBots.Strategies.Users;

namespace TradingBots.Worker;

/// <summary>
/// What a backtest runs on, one rule for the Worker that holds it and for every Worker that runs a share of a search's
/// trials: its strategy version, knobs, range and fill terms (<see cref="SetupAsync"/>), and the stored candles from the
/// strategy's warm-up (<see cref="ReadCandlesAsync"/>).
/// </summary>
public sealed class BacktestInputs(StrategyCatalog catalog, PriceSource prices)
{
    /// <summary>
    /// The backtest's setup. Filled by its knobs' terms, under the exchange's rules of today when they apply (Binance keeps no
    /// history of them): asked of the market, or those a search's plan fixed for all its Workers.
    /// </summary>
    public async Task<BacktestSetup> SetupAsync(Backtest backtest, SearchPlan? plan, CancellationToken cancellationToken)
    {
        var strategy = await catalog.FindAsync($"{backtest.Strategy}@{backtest.Version}", cancellationToken)
            ?? throw new InvalidOperationException($"strategy {backtest.Strategy}@{backtest.Version} is not known to this Worker");
        var knobs = KnobValues.Parse(backtest.Knobs, StrategyRegistry.KnobsOf(strategy));
        var terms = PaperRules.Terms(backtest.Knobs, FillTerms.Bot);
        var rules = plan is not null ? plan.Rules : terms.ExchangeRules ? await RulesAsync(backtest.Symbols, cancellationToken) : null;
        return new BacktestSetup(strategy, knobs, backtest.Symbols, backtest.Timeframe, backtest.From.ToUnixTimeMilliseconds(),
            backtest.To.ToUnixTimeMilliseconds(), backtest.StartingCash, backtest.FeeRate, terms, rules);
    }

    private async Task<IReadOnlyDictionary<string, ExchangeRules>> RulesAsync(IReadOnlyList<string> symbols, CancellationToken cancellationToken)
    {
        var rules = new Dictionary<string, ExchangeRules>(StringComparer.Ordinal);
        foreach (var symbol in symbols) rules[symbol] = await prices.GetRulesAsync(symbol, cancellationToken);
        return rules;
    }

    /// <summary>The warm-up's start: the closed candles before the range the strategy's first judgment needs, as a live bot has them.</summary>
    public static long WarmFrom(BacktestSetup setup) =>
        setup.From - (Math.Max(1, setup.Strategy.CandlesNeeded(setup.Knobs)) - 1) * Timeframes.Milliseconds(setup.Timeframe)!.Value;

    /// <summary>Each symbol's stored candles opening in [warm-up, <paramref name="until"/>).</summary>
    public static async Task<Dictionary<string, Candle[]>> ReadCandlesAsync(NpgsqlConnection connection, BacktestSetup setup, long until,
        CancellationToken cancellationToken)
    {
        var candles = new Dictionary<string, Candle[]>(StringComparer.Ordinal);
        foreach (var symbol in setup.Symbols)
            candles[symbol] = await CandleStore.ReadAsync(connection, symbol, setup.Timeframe, WarmFrom(setup), until, cancellationToken);
        return candles;
    }
}
