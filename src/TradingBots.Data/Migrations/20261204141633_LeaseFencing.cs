using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TradingBots.Data.Migrations
{
    /// <inheritdoc />
    public partial class LeaseFencing : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateSequence(
                name: "fencing_tokens");

            migrationBuilder.AddColumn<long>(
                name: "epoch",
                table: "bot_leases",
                type: "bigint",
                nullable: false,
                defaultValue: 0L);

            migrationBuilder.AddColumn<int>(
                name: "tick_seconds",
                table: "bot_leases",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            // Leases of bots running across the upgrade: their tick from the knob when it reads as a whole number, else 5
            // (the ticker then fails that bot alone for its knobs). Knobs written from now on are normalized when written.
            migrationBuilder.Sql("""
                UPDATE bot_leases l SET tick_seconds = CASE
                    WHEN b.knobs ->> 'tick_seconds' ~ '^[0-9]{1,5}(\.0*)?$' THEN greatest(1, least(86400, floor((b.knobs ->> 'tick_seconds')::numeric)))::int
                    ELSE 5 END
                FROM bots b WHERE b.id = l.bot_id
                """);

            migrationBuilder.CreateTable(
                name: "judged_candles",
                columns: table => new
                {
                    job_id = table.Column<long>(type: "bigint", nullable: false),
                    symbol = table.Column<string>(type: "text", nullable: false),
                    open_time = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_judged_candles", x => new { x.job_id, x.symbol });
                    table.ForeignKey(
                        name: "fk_judged_candles_jobs_job_id",
                        column: x => x.job_id,
                        principalTable: "jobs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "judged_candles");

            migrationBuilder.DropColumn(
                name: "epoch",
                table: "bot_leases");

            migrationBuilder.DropColumn(
                name: "tick_seconds",
                table: "bot_leases");

            migrationBuilder.DropSequence(
                name: "fencing_tokens");
        }
    }
}
