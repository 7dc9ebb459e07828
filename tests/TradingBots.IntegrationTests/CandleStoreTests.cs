using Npgsql;
using TradingBots.Backtests;
using TradingBots.Strategies;

namespace TradingBots.IntegrationTests;

/// <summary>
/// Stored candles read back (the Worker's backtests and searches read them so): the first read copies them out with COPY
/// and keeps each whole block of them compact; later reads are served from the blocks, exactly the same candles; a
/// candle changed or deleted drops the blocks it was in. Each test stores candles of a symbol of its own and deletes them.
/// </summary>
public sealed class CandleStoreTests(TopologyFixture topology)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private const long Second = 1000, Span = CandleBlocks.Size * Second;

    /// <summary>Every figure of a candle as its decimal's bits: value, scale and sign.</summary>
    private static string Exact(Candle c) =>
        $"{c.OpenTime} " + string.Join(' ', new[] { c.Open, c.High, c.Low, c.Close, c.Volume }.Select(d => string.Join(',', decimal.GetBits(d))));

    [Fact]
    public async Task A_second_read_comes_from_the_blocks_the_first_kept_and_a_changed_or_deleted_candle_drops_its_block()
    {
        var symbol = $"BLK{Guid.NewGuid().ToString("N")[..8].ToUpperInvariant()}/USDT";
        await using var connection = await topology.OpenDatabaseAsync();
        // 1s candles from 100 s before a block's start to 50 s into the block after the next: two whole blocks between a
        // partial head and tail. Prices of several scales (1.5, 1.50, 2), volumes of 4 places.
        var start = 1_000 * Span;
        var (from, to) = (start - 100 * Second, start + 2 * Span + 50 * Second);
        var stored = new List<Candle>();
        for (var t = from; t < to; t += Second)
        {
            var i = (t - from) / Second;
            var close = 100m + i % 997 / 100m;
            stored.Add(new Candle(t, i % 3 == 0 ? 1.50m : close, close + 0.5m, close - 0.25m, close, i % 10_000 / 10_000m + 0.0001m));
        }
        foreach (var chunk in stored.Chunk(4_000)) await CandleStore.AddAsync(connection, symbol, "1s", chunk, Cancel);
        try
        {
            var first = await CandleStore.ReadAsync(connection, symbol, "1s", from, to, Cancel);
            Assert.Equal(stored.Select(c => (c.OpenTime, c.Open, c.High, c.Low, c.Close, c.Volume)), first.Select(c => (c.OpenTime, c.Open, c.High, c.Low, c.Close, c.Volume)));
            Assert.Equal([(start, start + Span - Second), (start + Span, start + 2 * Span - Second)], await BlocksAsync(connection, symbol));

            // The same candles, bit for bit, from the blocks; and a range beginning inside the first block (that one by COPY).
            var second = await CandleStore.ReadAsync(connection, symbol, "1s", from, to, Cancel);
            Assert.Equal(first.Select(Exact), second.Select(Exact));
            var part = await CandleStore.ReadAsync(connection, symbol, "1s", start + 10 * Second, start + 2 * Span, Cancel);
            Assert.Equal(first.Where(c => c.OpenTime >= start + 10 * Second && c.OpenTime < start + 2 * Span).Select(Exact), part.Select(Exact));

            // Served from the blocks indeed: a damaged block is refused.
            await ExecuteAsync(connection, $"UPDATE candle_blocks SET data = '\\x02' WHERE symbol = '{symbol}' AND first_open = {start + Span}");
            await Assert.ThrowsAsync<InvalidDataException>(() => CandleStore.ReadAsync(connection, symbol, "1s", from, to, Cancel));

            // A candle changed in the second block drops it (the first stays); the next read has the new close and keeps the block again.
            var changed = start + Span + 5 * Second;
            await ExecuteAsync(connection, $"UPDATE candles SET close = close + 1 WHERE symbol = '{symbol}' AND timeframe = '1s' AND open_time = {changed}");
            Assert.Equal([(start, start + Span - Second)], await BlocksAsync(connection, symbol));
            var third = await CandleStore.ReadAsync(connection, symbol, "1s", from, to, Cancel);
            Assert.Equal(first.Single(c => c.OpenTime == changed).Close + 1, third.Single(c => c.OpenTime == changed).Close);
            Assert.Equal(first.Where(c => c.OpenTime != changed).Select(Exact), third.Where(c => c.OpenTime != changed).Select(Exact));
            Assert.Equal(2, (await BlocksAsync(connection, symbol)).Count);

            // A candle deleted from the first block drops it, and it is not kept again while a candle of it is missing.
            await ExecuteAsync(connection, $"DELETE FROM candles WHERE symbol = '{symbol}' AND timeframe = '1s' AND open_time = {start + 7 * Second}");
            var fourth = await CandleStore.ReadAsync(connection, symbol, "1s", from, to, Cancel);
            Assert.Equal(third.Where(c => c.OpenTime != start + 7 * Second).Select(Exact), fourth.Select(Exact));
            Assert.Equal([(start + Span, start + 2 * Span - Second)], await BlocksAsync(connection, symbol));
        }
        finally
        {
            await ExecuteAsync(connection, $"DELETE FROM candles WHERE symbol = '{symbol}'");
        }
        Assert.Empty(await BlocksAsync(connection, symbol));
    }

    private static async Task<List<(long First, long Last)>> BlocksAsync(NpgsqlConnection connection, string symbol)
    {
        await using var command = new NpgsqlCommand("SELECT first_open, last_open FROM candle_blocks WHERE symbol = @symbol ORDER BY first_open", connection);
        command.Parameters.AddWithValue("symbol", symbol);
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        var blocks = new List<(long, long)>();
        while (await reader.ReadAsync(Cancel)) blocks.Add((reader.GetInt64(0), reader.GetInt64(1)));
        return blocks;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Cancel);
    }
}
