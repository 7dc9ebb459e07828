using System.Globalization;
using System.Text;
using System.Text.Json;
using TradingBots.Events;
using TradingBots.Paper;
using TradingBots.Strategies;

namespace TradingBots.Backtests;

/// <summary>
/// A completed backtest's figures (GET /backtests/{id} and summary.json): the run metrics, and what they came from: the
/// candles judged, those of them (warm-up included) fetched from the exchange by this run (0 when all were stored), the
/// trades still open at the end and the orders the paper rules refused; and how it filled: the model (on candles, always
/// their price: history keeps no ticker or book), the slippage and whether the exchange's rules applied.
/// </summary>
public sealed record BacktestSummary(decimal TotalReturn, decimal MaxDrawdown, decimal? Sharpe, decimal? Sortino, decimal? WinRate,
    decimal? ProfitFactor, decimal Exposure, decimal FeesPaid, int TradeCount, decimal BuyAndHoldReturn, decimal StartingCash,
    decimal FinalEquity, int Candles, int CandlesFetched, int OpenTrades, IReadOnlyList<string> Refusals, string FillModel, decimal SlippageBps,
    bool ExchangeRules)
{
    public static BacktestSummary From(BacktestSetup setup, BacktestResult result, int candlesFetched)
    {
        var s = result.Summary;
        return new(s.TotalReturn, s.MaxDrawdown, s.Sharpe, s.Sortino, s.WinRate, s.ProfitFactor, s.Exposure, s.FeesPaid, s.TradeCount,
            s.BuyAndHoldReturn, setup.StartingCash, result.Equity[^1].Equity, result.Candles, candlesFetched, result.Trades.Count(t => t.IsOpen),
            result.Refusals, setup.Applied.Model, setup.Applied.SlippageBps, setup.Applied.ExchangeRules);
    }

    public string ToJson() => JsonSerializer.Serialize(this, WireJson.Options);
}

/// <summary>
/// The files a completed backtest leaves in its directory: trades.csv, equity.csv, summary.json, equity.png and drawdown.png.
/// CSVs are RFC 4180 (a header, comma-separated, quoted where needed), times ISO 8601 UTC, amounts exact as the ledger has them.
/// </summary>
public static class BacktestArtifacts
{
    public const string Trades = "trades.csv", Equity = "equity.csv", Summary = "summary.json", EquityChart = "equity.png",
        DrawdownChart = "drawdown.png";

    public static IReadOnlyList<string> Names { get; } = [Trades, Equity, Summary, EquityChart, DrawdownChart];

    private const int Width = 1200, Height = 500;

    /// <summary>
    /// Writes every artifact into <paramref name="directory"/> all at once: into a new folder beside it, renamed into place
    /// once every file is written (what was there before, from a run taken over, goes then), so the files never mix two
    /// runs and never stop half-written.
    /// </summary>
    public static Task WriteAsync(string directory, BacktestSummary summary, BacktestResult result, CancellationToken cancellationToken) =>
        WriteAllAsync(directory, async writing =>
        {
            // Three at once on their own cores: the charts, the trades with the summary, the equity rows (the largest).
            var charts = Task.Run(() => Charts(writing, result.Equity), cancellationToken);
            var trades = Task.Run(async () =>
            {
                await File.WriteAllTextAsync(Path.Combine(writing, Summary), summary.ToJson(), cancellationToken);
                await WriteCsvAsync(Path.Combine(writing, Trades), TradesCsv(result.Trades), cancellationToken);
            }, cancellationToken);
            await EquityCsv.WriteAsync(Path.Combine(writing, Equity), result.Equity, cancellationToken);
            await Task.WhenAll(charts, trades);
        });

    /// <summary>A job's files written by <paramref name="write"/> into a new folder, renamed into <paramref name="directory"/> once all are there.</summary>
    public static async Task WriteAllAsync(string directory, Func<string, Task> write)
    {
        var writing = $"{directory}.writing-{Guid.NewGuid():N}";
        Directory.CreateDirectory(writing);
        try
        {
            await write(writing);
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
            Directory.Move(writing, directory);
        }
        finally
        {
            if (Directory.Exists(writing)) Directory.Delete(writing, recursive: true);
        }
    }

    private static IEnumerable<string> TradesCsv(IEnumerable<BacktestTrade> trades)
    {
        yield return "id,symbol,opened_at,entry_price,qty,cost_basis_quote,fees_paid_quote,open_reason,closed_at,exit_price,proceeds_quote,realized_pnl_quote,close_reason";
        foreach (var t in trades)
        {
            yield return string.Join(',', t.Id.ToString(CultureInfo.InvariantCulture), Field(t.Symbol), Time(t.OpenedAt), Amount(t.EntryPrice),
                Amount(t.Qty), Amount(t.CostBasisQuote), Amount(t.FeesPaidQuote), Field(t.OpenReason), t.ClosedAt is { } closed ? Time(closed) : "",
                Amount(t.ExitPrice), Amount(t.ProceedsQuote), Amount(t.RealizedPnlQuote), Field(t.CloseReason ?? ""));
        }
    }

    private static async Task WriteCsvAsync(string path, IEnumerable<string> lines, CancellationToken cancellationToken)
    {
        await using var file = new StreamWriter(path, append: false, new UTF8Encoding(false), bufferSize: 1 << 16) { NewLine = "\r\n" };
        foreach (var line in lines) await file.WriteLineAsync(line.AsMemory(), cancellationToken);
    }

    private static void Charts(string directory, IReadOnlyList<EquityPoint> equity)
    {
        var xs = new double[equity.Count];
        var ys = new double[equity.Count];
        var drawdown = new double[equity.Count];
        var peak = double.MinValue;
        for (var i = 0; i < equity.Count; i++)
        {
            xs[i] = DateTimeOffset.FromUnixTimeMilliseconds(equity[i].Time).UtcDateTime.ToOADate();
            ys[i] = (double)equity[i].Equity;
            peak = Math.Max(peak, ys[i]);
            drawdown[i] = peak <= 0 ? 0 : -(peak - ys[i]) / peak * 100; // a picture: doubles are exact enough
        }
        Chart(Path.Combine(directory, EquityChart), xs, ys, "Equity", "equity (quote)", ScottPlot.Colors.SteelBlue);
        Chart(Path.Combine(directory, DrawdownChart), xs, drawdown, "Drawdown", "% below peak", ScottPlot.Colors.FireBrick);
    }

    private static void Chart(string path, double[] xs, double[] ys, string title, string label, ScottPlot.Color color)
    {
        var plot = new ScottPlot.Plot();
        var line = plot.Add.SignalXY(xs, ys);
        line.Color = color;
        line.LineWidth = 1.5f;
        plot.Axes.DateTimeTicksBottom();
        // Enough decimals that neighbouring ticks never read the same (a flat-ish curve spans a few units of 10,000).
        var span = ys.Length == 0 ? 0 : ys.Max() - ys.Min();
        var decimals = span > 0 ? Math.Clamp((int)Math.Ceiling(-Math.Log10(span / 10)) + 1, 0, 12) : 0;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = value => value.ToString("N" + decimals, CultureInfo.InvariantCulture),
        };
        plot.Title(title);
        plot.YLabel(label);
        plot.SavePng(path, Width, Height);
    }

    private static string Time(long ms) =>
        DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string Amount(decimal? value) => value is { } v ? WireJson.Format(v) : "";

    /// <summary>RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.</summary>
    private static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : $"\"{value.Replace("\"", "\"\"")}\"";
}
