using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TradingBots.Data.Migrations
{
    /// <inheritdoc />
    public partial class CandleBlocks : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "candle_blocks",
                columns: table => new
                {
                    symbol = table.Column<string>(type: "text", nullable: false),
                    timeframe = table.Column<string>(type: "text", nullable: false),
                    first_open = table.Column<long>(type: "bigint", nullable: false),
                    last_open = table.Column<long>(type: "bigint", nullable: false),
                    data = table.Column<byte[]>(type: "bytea", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_candle_blocks", x => new { x.symbol, x.timeframe, x.first_open });
                });

            // Blocks are read whole and are already compact: kept out of line, not compressed again.
            migrationBuilder.Sql("ALTER TABLE candle_blocks ALTER COLUMN data SET STORAGE EXTERNAL;");
            // A block is a copy of candles: any of them deleted or changed drops every block from the first to the last of
            // them (per symbol and timeframe). Under the lock a reader holds (shared) from its read to its write of blocks,
            // so a block written from candles read before a change is dropped by that change's trigger.
            migrationBuilder.Sql("""
                CREATE FUNCTION candle_blocks_lock(symbol text, timeframe text) RETURNS bigint IMMUTABLE LANGUAGE sql
                    AS $$ SELECT hashtextextended('candle_blocks:' || symbol || '/' || timeframe, 0) $$;

                CREATE FUNCTION candle_blocks_drop() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    PERFORM pg_advisory_xact_lock(candle_blocks_lock(c.symbol, c.timeframe))
                        FROM (SELECT DISTINCT symbol, timeframe FROM changed ORDER BY 1, 2) c;
                    DELETE FROM candle_blocks b
                        USING (SELECT symbol, timeframe, min(open_time) AS first, max(open_time) AS last FROM changed GROUP BY 1, 2) c
                        WHERE b.symbol = c.symbol AND b.timeframe = c.timeframe AND b.last_open >= c.first AND b.first_open <= c.last;
                    RETURN NULL;
                END $$;

                CREATE TRIGGER candles_deleted AFTER DELETE ON candles REFERENCING OLD TABLE AS changed
                    FOR EACH STATEMENT EXECUTE FUNCTION candle_blocks_drop();
                CREATE TRIGGER candles_updated AFTER UPDATE ON candles REFERENCING OLD TABLE AS changed
                    FOR EACH STATEMENT EXECUTE FUNCTION candle_blocks_drop();

                CREATE FUNCTION candle_blocks_drop_all() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    TRUNCATE candle_blocks;
                    RETURN NULL;
                END $$;

                CREATE TRIGGER candles_truncated AFTER TRUNCATE ON candles FOR EACH STATEMENT EXECUTE FUNCTION candle_blocks_drop_all();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER candles_truncated ON candles;
                DROP TRIGGER candles_updated ON candles;
                DROP TRIGGER candles_deleted ON candles;
                DROP FUNCTION candle_blocks_drop_all();
                DROP FUNCTION candle_blocks_drop();
                DROP FUNCTION candle_blocks_lock(text, text);
                """);
            migrationBuilder.DropTable(
                name: "candle_blocks");
        }
    }
}
