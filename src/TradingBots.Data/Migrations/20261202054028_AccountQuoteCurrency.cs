using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TradingBots.Data.Migrations
{
    /// <inheritdoc />
    public partial class AccountQuoteCurrency : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Accounts opened before: the manual one held USDT (the default), a bot's the quote of its first symbol.
            migrationBuilder.AddColumn<string>(
                name: "quote_currency",
                table: "paper_accounts",
                type: "text",
                nullable: false,
                defaultValue: "USDT");
            migrationBuilder.Sql("""
                UPDATE paper_accounts a SET quote_currency = split_part(b.symbols[1], '/', 2)
                FROM bots b WHERE b.id = a.bot_id AND split_part(b.symbols[1], '/', 2) <> ''
                """);
            migrationBuilder.AlterColumn<string>(
                name: "quote_currency",
                table: "paper_accounts",
                type: "text",
                nullable: false,
                oldClrType: typeof(string),
                oldType: "text",
                oldDefaultValue: "USDT");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "quote_currency",
                table: "paper_accounts");
        }
    }
}
