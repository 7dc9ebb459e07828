using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TradingBots.Data.Migrations
{
    /// <inheritdoc />
    public partial class SearchChunks : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "search_plan",
                table: "backtests",
                type: "jsonb",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "search_chunks",
                columns: table => new
                {
                    job_id = table.Column<long>(type: "bigint", nullable: false),
                    chunk = table.Column<int>(type: "integer", nullable: false),
                    epoch = table.Column<long>(type: "bigint", nullable: false),
                    first_trial = table.Column<int>(type: "integer", nullable: false),
                    trial_count = table.Column<int>(type: "integer", nullable: false),
                    owner = table.Column<string>(type: "text", nullable: true),
                    token = table.Column<long>(type: "bigint", nullable: true),
                    heartbeat_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    results = table.Column<string>(type: "jsonb", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_search_chunks", x => new { x.job_id, x.chunk });
                    table.ForeignKey(
                        name: "fk_search_chunks_backtests_job_id",
                        column: x => x.job_id,
                        principalTable: "backtests",
                        principalColumn: "job_id",
                        onDelete: ReferentialAction.Cascade);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "search_chunks");

            migrationBuilder.DropColumn(
                name: "search_plan",
                table: "backtests");
        }
    }
}
