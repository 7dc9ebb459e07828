using Npgsql;
using NpgsqlTypes;
using TradingBots.Strategies;

namespace TradingBots.Backtests;

/// <summary>
/// The <c>candles</c> table: closed candles kept once per (symbol, timeframe, open time), so a range is fetched from the
/// exchange once. Open times are whole multiples of the timeframe since the epoch (the <see cref="Timeframes"/> offered).
/// </summary>
public static class CandleStore
{
    /// <summary>The runs of open times in [from, to) with no stored candle, as (first, last) open times, oldest first.</summary>
    public static async Task<List<(long First, long Last)>> MissingAsync(NpgsqlConnection connection, string symbol, string timeframe,
        long from, long to, CancellationToken cancellationToken)
    {
        var step = Timeframes.Milliseconds(timeframe) ?? throw new ArgumentException($"no stored candles of {timeframe}", nameof(timeframe));
        var runs = new List<(long, long)>();
        if (to <= from) return runs;
        // All there (the usual second run): one count over the key, no series.
        await using (var count = new NpgsqlCommand(
            "SELECT count(*) FROM candles WHERE symbol = @symbol AND timeframe = @timeframe AND open_time >= @from AND open_time < @to", connection))
        {
            Bind(count, symbol, timeframe, from, to);
            if ((long)(await count.ExecuteScalarAsync(cancellationToken))! == (to - from + step - 1) / step) return runs;
        }
        // Gaps and islands: consecutive missing open times share t - step × row number.
        await using var gaps = new NpgsqlCommand("""
            SELECT min(t), max(t) FROM (
                SELECT t, t - @step * row_number() OVER (ORDER BY t) AS run
                FROM generate_series(@from, @to - 1, @step) t
                WHERE NOT EXISTS (SELECT 1 FROM candles c WHERE c.symbol = @symbol AND c.timeframe = @timeframe AND c.open_time = t)) m
            GROUP BY run ORDER BY 1
            """, connection);
        Bind(gaps, symbol, timeframe, from, to);
        gaps.Parameters.AddWithValue("step", step);
        await using var reader = await gaps.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) runs.Add((reader.GetInt64(0), reader.GetInt64(1)));
        return runs;
    }

    /// <summary>Stores candles (one statement); a candle stored already is kept as it was. Returns how many were new.</summary>
    public static async Task<int> AddAsync(NpgsqlConnection connection, string symbol, string timeframe, IReadOnlyList<Candle> candles,
        CancellationToken cancellationToken)
    {
        if (candles.Count == 0) return 0;
        await using var insert = new NpgsqlCommand("""
            INSERT INTO candles (symbol, timeframe, open_time, open, high, low, close, volume)
            SELECT @symbol, @timeframe, * FROM unnest(@open_time, @open, @high, @low, @close, @volume)
            ON CONFLICT DO NOTHING
            """, connection);
        insert.Parameters.AddWithValue("symbol", symbol);
        insert.Parameters.AddWithValue("timeframe", timeframe);
        insert.Parameters.AddWithValue("open_time", candles.Select(c => c.OpenTime).ToArray());
        insert.Parameters.AddWithValue("open", candles.Select(c => c.Open).ToArray());
        insert.Parameters.AddWithValue("high", candles.Select(c => c.High).ToArray());
        insert.Parameters.AddWithValue("low", candles.Select(c => c.Low).ToArray());
        insert.Parameters.AddWithValue("close", candles.Select(c => c.Close).ToArray());
        insert.Parameters.AddWithValue("volume", candles.Select(c => c.Volume).ToArray());
        return await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// The stored candles opening in [from, to), in time order, read with binary COPY (the fastest way out of PostgreSQL),
    /// on a thread of its own with Npgsql's synchronous reads: the asynchronous ones went through the thread pool for each
    /// 8 KiB of the COPY (a year of 1m candles is 47 MB of it).
    /// </summary>
    public static Task<Candle[]> ReadAsync(NpgsqlConnection connection, string symbol, string timeframe, long from, long to,
        CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Read(connection, symbol, timeframe, from, to, cancellationToken), cancellationToken,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static Candle[] Read(NpgsqlConnection connection, string symbol, string timeframe, long from, long to, CancellationToken cancellationToken)
    {
        var step = Timeframes.Milliseconds(timeframe) ?? throw new ArgumentException($"no stored candles of {timeframe}", nameof(timeframe));
        var candles = new List<Candle>((int)Math.Clamp((to - from) / step, 0, 10_000_000));
        // COPY takes no parameters: the values are a validated symbol and timeframe (quoted) and two integers.
        var sql = $"COPY (SELECT open_time, open, high, low, close, volume FROM candles WHERE symbol = {Quote(symbol)} AND timeframe = {Quote(timeframe)} "
            + $"AND open_time >= {from} AND open_time < {to} ORDER BY open_time) TO STDOUT (FORMAT BINARY)";
        // Disposed before its end (cancelled), the export cancels the COPY.
        using var export = connection.BeginBinaryExport(sql);
        while (export.StartRow() >= 0)
        {
            if ((candles.Count & 0xFFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            candles.Add(new Candle(export.Read<long>(NpgsqlDbType.Bigint), export.Read<decimal>(NpgsqlDbType.Numeric),
                export.Read<decimal>(NpgsqlDbType.Numeric), export.Read<decimal>(NpgsqlDbType.Numeric), export.Read<decimal>(NpgsqlDbType.Numeric),
                export.Read<decimal>(NpgsqlDbType.Numeric)));
        }
        return [.. candles];
    }

    private static string Quote(string value) => $"'{value.Replace("'", "''")}'";

    private static void Bind(NpgsqlCommand command, string symbol, string timeframe, long from, long to)
    {
        command.Parameters.AddWithValue("symbol", symbol);
        command.Parameters.AddWithValue("timeframe", timeframe);
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("to", to);
    }
}
