using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TradingBots.Data.Migrations
{
    /// <inheritdoc />
    public partial class TradesFillFactor : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterTable(
                name: "trades")
                .Annotation("Npgsql:StorageParameter:fillfactor", 50);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterTable(
                name: "trades")
                .OldAnnotation("Npgsql:StorageParameter:fillfactor", 50);
        }
    }
}
