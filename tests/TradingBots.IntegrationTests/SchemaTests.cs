using Npgsql;

namespace TradingBots.IntegrationTests;

/// <summary>The migrations created the spec's six tables with exactly its columns and indexes (read from the catalog).</summary>
public sealed class SchemaTests(TopologyFixture topology)
{
    public static TheoryData<string, string[]> Tables => new()
    {
        { "bots", ["id", "name", "symbols", "timeframe", "paper_mode", "strategy", "knobs", "status", "stop_requested", "created_at", "updated_at"] },
        { "strategies", ["id", "name", "version", "description", "created_at"] },
        { "trades", ["id", "bot_id", "symbol", "side", "amount", "price", "status", "cost_basis_quote", "fees_paid_quote",
            "unrealized_pnl_quote", "realized_pnl_quote", "pnl", "closed_at", "created_at"] },
        { "orders", ["id", "bot_id", "trade_id", "exchange_id", "symbol", "side", "type", "amount", "quote_amount", "base_qty",
            "price", "fee_quote", "paper_mode", "status", "created_at"] },
        { "portfolio_snapshots", ["id", "bot_id", "equity", "cash", "positions_value", "timestamp"] },
        { "jobs", ["id", "bot_id", "task", "status", "progress", "message", "celery_task_id", "created_at", "updated_at"] },
    };

    [Theory]
    [MemberData(nameof(Tables))]
    public async Task Table_has_exactly_the_spec_columns(string table, string[] columns)
    {
        var actual = await QueryAsync(
            "select column_name from information_schema.columns where table_schema = 'public' and table_name = @t", table);
        Assert.Equal(columns.Order(), actual.Order());
    }

    [Theory]
    [InlineData("strategies", "name,version", true)]
    [InlineData("trades", "bot_id,status", false)]
    [InlineData("trades", "bot_id,created_at", false)]
    [InlineData("orders", "trade_id,status", false)]
    [InlineData("orders", "symbol,status", false)]
    [InlineData("orders", "bot_id", false)]
    [InlineData("portfolio_snapshots", "bot_id,timestamp", false)]
    [InlineData("jobs", "bot_id,status", false)]
    public async Task Index_exists(string table, string columns, bool unique)
    {
        // Each index of the table as "col1,col2" with its uniqueness, from pg_index.
        var indexes = await QueryAsync("""
            select string_agg(a.attname, ',' order by k.ordinality) || case when i.indisunique then ' unique' else '' end
            from pg_index i
            join pg_class t on t.oid = i.indrelid
            cross join lateral unnest(i.indkey) with ordinality as k(attnum, ordinality)
            join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
            where t.relname = @t and not i.indisprimary
            group by i.indexrelid, i.indisunique
            """, table);
        Assert.Contains(columns + (unique ? " unique" : ""), indexes);
    }

    [Theory]
    [InlineData("trades", "bot_id", "bots")]
    [InlineData("orders", "bot_id", "bots")]
    [InlineData("orders", "trade_id", "trades")]
    [InlineData("portfolio_snapshots", "bot_id", "bots")]
    [InlineData("jobs", "bot_id", "bots")]
    public async Task Nullable_foreign_key(string table, string column, string references)
    {
        var nullable = await QueryAsync(
            "select is_nullable from information_schema.columns where table_name = @t and column_name = @c", table, column);
        var target = await QueryAsync("""
            select ccu.table_name from information_schema.table_constraints tc
            join information_schema.key_column_usage kcu on kcu.constraint_name = tc.constraint_name
            join information_schema.constraint_column_usage ccu on ccu.constraint_name = tc.constraint_name
            where tc.constraint_type = 'FOREIGN KEY' and tc.table_name = @t and kcu.column_name = @c
            """, table, column);
        Assert.Equal(["YES"], nullable);
        Assert.Equal([references], target);
    }

    [Fact]
    public async Task Money_is_numeric_and_time_is_timestamptz()
    {
        var types = await QueryAsync("""
            select table_name || '.' || column_name || ' ' || data_type from information_schema.columns
            where table_schema = 'public' and table_name <> @t
              and (column_name in ('amount', 'price', 'cost_basis_quote', 'fees_paid_quote', 'unrealized_pnl_quote',
                   'realized_pnl_quote', 'pnl', 'quote_amount', 'base_qty', 'fee_quote', 'equity', 'cash', 'positions_value')
                   or column_name like '%_at' or column_name = 'timestamp')
            """, "__EFMigrationsHistory");
        Assert.NotEmpty(types);
        Assert.All(types, t => Assert.Matches(@"\.(\w+) (numeric|timestamp with time zone)$", t));
        Assert.All(types.Where(t => t.Contains("_at ") || t.Contains(".timestamp ")), t => Assert.EndsWith("timestamp with time zone", t));
    }

    private async Task<List<string>> QueryAsync(string sql, string table, string column = "")
    {
        await using var connection = await topology.OpenDatabaseAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("t", table);
        command.Parameters.AddWithValue("c", column);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows.Add(reader.GetString(0));
        return rows;
    }
}
