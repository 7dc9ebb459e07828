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
            Bind(count.Parameters, symbol, timeframe, from, to);
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
        Bind(gaps.Parameters, symbol, timeframe, from, to);
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
    /// The stored candles opening in [from, to), in time order: from their compact blocks where there are
    /// (<see cref="CandleBlocks"/>), the rest with binary COPY (the fastest way out of PostgreSQL); the whole blocks that COPY
    /// brought are then kept for the next read. On a thread of its own with Npgsql's synchronous reads: the asynchronous
    /// ones went through the thread pool for each 8 KiB of the COPY (a year of 1m candles is 47 MB of it).
    /// </summary>
    public static Task<Candle[]> ReadAsync(NpgsqlConnection connection, string symbol, string timeframe, long from, long to,
        CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => Read(connection, symbol, timeframe, from, to, cancellationToken), cancellationToken,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static Candle[] Read(NpgsqlConnection connection, string symbol, string timeframe, long from, long to, CancellationToken cancellationToken)
    {
        var step = Timeframes.Milliseconds(timeframe) ?? throw new ArgumentException($"no stored candles of {timeframe}", nameof(timeframe));
        if (to <= from) return [];
        var candles = new List<Candle>((int)Math.Clamp((to - from) / step, 0, 10_000_000));
        // The blocks' lock, shared, from the read to the write of the blocks it found: a change of these candles waits for it,
        // then drops the blocks (the trigger of the CandleBlocks migration), so no block outlives the candles it copies.
        using var transaction = connection.BeginTransaction();
        var found = new List<(long First, byte[] Data)>();
        var next = from;
        foreach (var (first, data) in Blocks(connection, symbol, timeframe, from, to, cancellationToken))
        {
            if (first > next) found.AddRange(Copy(connection, symbol, timeframe, step, next, first, candles, cancellationToken));
            CandleBlocks.Decode(data, first, step, candles);
            next = first + step * CandleBlocks.Size;
        }
        if (next < to) found.AddRange(Copy(connection, symbol, timeframe, step, next, to, candles, cancellationToken));
        if (found.Count > 0) Keep(connection, symbol, timeframe, step, found);
        transaction.Commit();
        return [.. candles];
    }

    /// <summary>The blocks kept of candles opening in [from, to), in time order, read under the blocks' lock (shared).</summary>
    private static List<(long First, byte[] Data)> Blocks(NpgsqlConnection connection, string symbol, string timeframe, long from, long to,
        CancellationToken cancellationToken)
    {
        var locked = new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock_shared(candle_blocks_lock(@symbol, @timeframe))");
        locked.Parameters.AddWithValue("symbol", symbol);
        locked.Parameters.AddWithValue("timeframe", timeframe);
        var blocked = new NpgsqlBatchCommand("""
            SELECT first_open, data FROM candle_blocks
            WHERE symbol = @symbol AND timeframe = @timeframe AND first_open >= @from AND last_open < @to ORDER BY first_open
            """);
        Bind(blocked.Parameters, symbol, timeframe, from, to);
        using var batch = new NpgsqlBatch(connection) { BatchCommands = { locked, blocked } };
        using var reader = batch.ExecuteReader();
        reader.NextResult();
        var blocks = new List<(long, byte[])>();
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            blocks.Add((reader.GetInt64(0), reader.GetFieldValue<byte[]>(1)));
        }
        return blocks;
    }

    /// <summary>The candles opening in [from, to) read with binary COPY onto <paramref name="candles"/>; the whole blocks among them.</summary>
    private static List<(long First, byte[] Data)> Copy(NpgsqlConnection connection, string symbol, string timeframe, long step, long from,
        long to, List<Candle> candles, CancellationToken cancellationToken)
    {
        var start = candles.Count;
        // COPY takes no parameters: the values are a validated symbol and timeframe (quoted) and two integers.
        var sql = $"COPY (SELECT open_time, open, high, low, close, volume FROM candles WHERE symbol = {Quote(symbol)} AND timeframe = {Quote(timeframe)} "
            + $"AND open_time >= {from} AND open_time < {to} ORDER BY open_time) TO STDOUT (FORMAT BINARY)";
        // Disposed before its end (cancelled), the export cancels the COPY.
        using (var export = connection.BeginBinaryExport(sql))
        {
            while (export.StartRow() >= 0)
            {
                if ((candles.Count & 0xFFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
                candles.Add(new Candle(export.Read<long>(NpgsqlDbType.Bigint), export.Read<decimal>(NpgsqlDbType.Numeric),
                    export.Read<decimal>(NpgsqlDbType.Numeric), export.Read<decimal>(NpgsqlDbType.Numeric), export.Read<decimal>(NpgsqlDbType.Numeric),
                    export.Read<decimal>(NpgsqlDbType.Numeric)));
            }
        }
        // A block is whole when a candle opens at its start and each of the next CandleBlocks.Size - 1 one step after the one before.
        var read = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(candles)[start..];
        var found = new List<(long, byte[])>();
        for (var i = 0; i + CandleBlocks.Size <= read.Length; i++)
        {
            var first = read[i].OpenTime;
            if (CandleBlocks.Start(first, step) != first) continue;
            var whole = 1;
            while (whole < CandleBlocks.Size && read[i + whole].OpenTime == first + whole * step) whole++;
            if (whole < CandleBlocks.Size) continue;
            found.Add((first, CandleBlocks.Encode(read.Slice(i, CandleBlocks.Size))));
            i += CandleBlocks.Size - 1;
        }
        return found;
    }

    /// <summary>Keeps the blocks found (one statement); a block kept already stays as it was.</summary>
    private static void Keep(NpgsqlConnection connection, string symbol, string timeframe, long step, List<(long First, byte[] Data)> blocks)
    {
        using var insert = new NpgsqlCommand("""
            INSERT INTO candle_blocks (symbol, timeframe, first_open, last_open, data)
            SELECT @symbol, @timeframe, * FROM unnest(@first, @last, @data)
            ON CONFLICT DO NOTHING
            """, connection);
        insert.Parameters.AddWithValue("symbol", symbol);
        insert.Parameters.AddWithValue("timeframe", timeframe);
        insert.Parameters.AddWithValue("first", blocks.Select(b => b.First).ToArray());
        insert.Parameters.AddWithValue("last", blocks.Select(b => b.First + (CandleBlocks.Size - 1) * step).ToArray());
        insert.Parameters.Add(new NpgsqlParameter("data", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = blocks.Select(b => b.Data).ToArray() });
        insert.ExecuteNonQuery();
    }

    private static string Quote(string value) => $"'{value.Replace("'", "''")}'";

    private static void Bind(NpgsqlParameterCollection parameters, string symbol, string timeframe, long from, long to)
    {
        parameters.AddWithValue("symbol", symbol);
        parameters.AddWithValue("timeframe", timeframe);
        parameters.AddWithValue("from", from);
        parameters.AddWithValue("to", to);
    }
}
