using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TradingBots.Data.Migrations
{
    /// <inheritdoc />
    public partial class OutboxTextLz4 : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<string>(
                name: "payload",
                table: "outbox_events",
                type: "text",
                nullable: false,
                oldClrType: typeof(string),
                oldType: "json")
                .Annotation("Npgsql:Compression:", "lz4");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // Text does not become json by itself: each payload is parsed back (they were all written as JSON).
            migrationBuilder.Sql("""
                ALTER TABLE outbox_events ALTER COLUMN payload TYPE json USING payload::json;
                ALTER TABLE outbox_events ALTER COLUMN payload SET COMPRESSION default;
                """);
        }
    }
}
