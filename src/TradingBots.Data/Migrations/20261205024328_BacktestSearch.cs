using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TradingBots.Data.Migrations
{
    /// <inheritdoc />
    public partial class BacktestSearch : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "search",
                table: "backtests",
                type: "jsonb",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "search",
                table: "backtests");
        }
    }
}
