using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TradingBots.Data.Migrations
{
    /// <inheritdoc />
    public partial class BotLeases : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "bot_leases",
                columns: table => new
                {
                    bot_id = table.Column<long>(type: "bigint", nullable: false),
                    job_id = table.Column<long>(type: "bigint", nullable: false),
                    owner = table.Column<string>(type: "text", nullable: false),
                    expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    next_tick_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    ticks = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_bot_leases", x => x.bot_id);
                    table.ForeignKey(
                        name: "fk_bot_leases_bots_bot_id",
                        column: x => x.bot_id,
                        principalTable: "bots",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "fk_bot_leases_jobs_job_id",
                        column: x => x.job_id,
                        principalTable: "jobs",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_bot_leases_job_id",
                table: "bot_leases",
                column: "job_id");

            migrationBuilder.CreateIndex(
                name: "ix_bot_leases_next_tick_at",
                table: "bot_leases",
                column: "next_tick_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "bot_leases");
        }
    }
}
