using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using TradingBots.Data;
using TradingBots.Events;

namespace TradingBots.Paper;

/// <summary>
/// Executes paper market orders against live prices. Each bot is one account (orders without a bot use the
/// manual account); every change to an account happens in one transaction holding that account's row lock
/// (paper_accounts), so concurrent orders never overdraw it and a trade is closed once. Events go to the outbox in the
/// same transaction and leave only after the commit.
/// </summary>
public sealed class PaperEngine(TradingDbContext db, PriceSource prices, MarkPrices marks, OutboxWaker waker, IOptions<PaperOptions> options,
    TimeProvider time)
{
    /// <summary>
    /// POST /orders. With an idempotency key, a retry gets the first response (status and body) back. It fills by the
    /// account's <see cref="FillTerms"/> (<paramref name="terms"/> when the caller knows them) from the live ticker, or from
    /// <paramref name="at"/> when the caller has it (a tick's), under the caller's <paramref name="guard"/>.
    /// </summary>
    public async Task<(int Status, string Body)> PlaceOrderAsync(OrderRequest request, string? idempotencyKey, string requestHash,
        CancellationToken cancellationToken, Quote? at = null, IOrderGuard? guard = null, FillTerms? terms = null)
    {
        // A retry of a committed order is answered without the market (which may be the reason for the retry). An order
        // whose price is given asks no market: the check under the lock is enough, one round trip less (a tick's orders).
        if (at is null && idempotencyKey is not null && await StoredAsync(idempotencyKey, cancellationToken) is { } replay)
            return Replay(replay, requestHash);
        // What it fills from, before the lock: no lock is held while the market answers.
        terms ??= await TermsAsync(request.BotId, cancellationToken);
        var size = request.Side == Sides.Buy || request.BaseQty is not null || request.QuoteAmount is not null
            ? (request.BaseQty, request.QuoteAmount) : ((decimal?, decimal?)?)null;
        var market = await MarketAsync(request.Symbol, request.Side, size, terms, at ?? await QuoteForAsync(request, cancellationToken), cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Again under the account's lock: a concurrent first attempt with this key may just have committed.
        var (account, raced, refused, _) = await OpenAccountAsync(request.BotId, idempotencyKey, guard, cancellationToken);
        if (raced is not null) return Replay(raced, requestHash);
        if (refused is not null) throw refused;
        EnsureCurrency(account, request.Symbol);

        var result = request.Side == Sides.Buy
            ? await BuyAsync(request, account, terms, market, cancellationToken)
            : await SellAsync(request, account, terms, market, cancellationToken);

        var body = JsonSerializer.Serialize(result, WireJson.Options);
        if (idempotencyKey is not null)
        {
            db.IdempotencyKeys.Add(new IdempotencyKey
            {
                Key = idempotencyKey, RequestHash = requestHash, StatusCode = 201, Response = body, CreatedAt = time.GetUtcNow(),
            });
        }
        // One round trip writes it all: trades and orders have their ids already (HiLo), the events go to the outbox.
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        waker.Wake();
        return (201, body);
    }

    /// <summary>
    /// The live ticker of the order's symbol. A symbol the market does not know (PEPE/TRY on a simulator) that is also
    /// quoted in another currency than the account's is refused for the currency (the rule that holds on any exchange);
    /// on the usual path the currency is checked under the account's lock, without a round trip of its own.
    /// </summary>
    private async Task<Quote> QuoteForAsync(OrderRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await prices.GetQuoteAsync(request.Symbol, cancellationToken);
        }
        catch (PriceException ex) when (ex.Status == System.Net.HttpStatusCode.BadRequest)
        {
            var currency = await db.PaperAccounts.Where(a => a.Key == AccountKey(request.BotId)).Select(a => a.QuoteCurrency).FirstOrDefaultAsync(cancellationToken)
                ?? PaperRules.AccountCurrency(request.BotId is { } botId
                    ? await db.Bots.Where(b => b.Id == botId).Select(b => b.Symbols).FirstOrDefaultAsync(cancellationToken) : null,
                    options.Value.QuoteCurrency);
            if (PaperRules.CurrencyMismatch(request.Symbol, currency) is { } reason) throw new PaperException(422, "symbol", reason);
            throw;
        }
    }

    /// <summary>How the account fills: the manual account's from configuration, a bot's from its knobs.</summary>
    private async Task<FillTerms> TermsAsync(long? botId, CancellationToken cancellationToken)
    {
        if (botId is null) return options.Value.ManualTerms;
        var knobs = await db.Bots.Where(b => b.Id == botId).Select(b => b.Knobs).FirstOrDefaultAsync(cancellationToken)
            ?? throw new PaperException(404, "bot_id", $"no bot {botId}");
        return PaperRules.Terms(knobs, FillTerms.Bot);
    }

    /// <summary>
    /// What an order fills from, by its account's terms: the ticker, and the order book (a book walk: deep enough for
    /// <paramref name="size"/> when it is known, up to the exchange's limit) and the exchange rules when the terms need them.
    /// </summary>
    private async Task<MarketView> MarketAsync(string symbol, string side, (decimal? Qty, decimal? Quote)? size, FillTerms terms, Quote quote,
        CancellationToken cancellationToken)
    {
        var rules = terms.ExchangeRules ? prices.GetRulesAsync(symbol, cancellationToken) : Task.FromResult<ExchangeRules>(null!);
        OrderBook? book = null;
        if (terms.Model == FillModels.Book)
        {
            book = await prices.GetOrderBookAsync(symbol, PriceSource.BookLevels, cancellationToken);
            if (size is var (qty, amount) && PaperRules.BookPrice(Side(book, side), qty, amount) is null && Side(book, side).Count >= PriceSource.BookLevels)
                book = await prices.GetOrderBookAsync(symbol, PriceSource.MaxBookLevels, cancellationToken);
        }
        return new MarketView(quote, book, await rules);
    }

    private static IReadOnlyList<BookLevel> Side(OrderBook book, string side) => side == Sides.Buy ? book.Asks : book.Bids;

    /// <summary>The ticker, and the order book and exchange rules where the account's terms use them.</summary>
    private sealed record MarketView(Quote Quote, OrderBook? Book, ExchangeRules? Rules);

    /// <summary>
    /// The price an order of this size fills at by the account's terms (<see cref="PaperRules.FillPrice"/>); an order larger
    /// than the book is refused (422 on <paramref name="field"/>).
    /// </summary>
    private static decimal FillPrice(FillTerms terms, MarketView market, string symbol, string side, decimal? qty, decimal? quote, string field)
    {
        var price = market.Book is { } book
            ? PaperRules.BookPrice(Side(book, side), qty, quote) ?? throw new PaperException(422, field,
                $"larger than the order book: its {Side(book, side).Count} {(side == Sides.Buy ? "ask" : "bid")} levels hold "
                + $"{WireJson.Format(PaperRules.Depth(Side(book, side)))} {symbol[..symbol.IndexOf('/')]}")
            : PaperRules.ModelPrice(terms.Model, side, market.Quote);
        return PaperRules.FillPrice(price, side, terms.SlippageBps, market.Rules);
    }

    /// <summary>An order the exchange's rules refuse: 422 naming the filter and the numbers.</summary>
    private static void EnsureRules(MarketView market, decimal qty, decimal price, string field)
    {
        if (market.Rules is { } rules && PaperRules.Refusal(rules, qty, price) is { } refusal)
            throw new PaperException(422, field, $"{refusal.Filter}: {refusal.Reason}");
    }

    private static string AccountKey(long? botId) => botId is null ? "manual" : $"bot:{botId}";

    /// <summary>The first response stored for an idempotency key, and the hash of the request it answered.</summary>
    private sealed record Stored(string RequestHash, int StatusCode, string Response);

    private const string StoredSql = "SELECT request_hash, status_code, response FROM idempotency_keys WHERE key = @key";

    private async Task<Stored?> StoredAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var command = (NpgsqlCommand)db.Database.GetDbConnection().CreateCommand();
        command.CommandText = StoredSql;
        command.Transaction = (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction();
        command.Parameters.AddWithValue("key", idempotencyKey);
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await ReadStoredAsync(reader, cancellationToken);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static async Task<Stored?> ReadStoredAsync(System.Data.Common.DbDataReader reader, CancellationToken cancellationToken) =>
        await reader.ReadAsync(cancellationToken) ? new Stored(reader.GetString(0), reader.GetInt32(1), reader.GetString(2)) : null;

    /// <summary>A retry gets the first response back; the key with a different request is 422.</summary>
    private static (int Status, string Body) Replay(Stored seen, string requestHash) => seen.RequestHash == requestHash
        ? (seen.StatusCode, seen.Response)
        : throw new PaperException(422, "Idempotency-Key", "this key was already used for a different request");

    /// <summary>
    /// POST /trades/{id}/close: the whole trade by the account's terms from the live ticker, or from <paramref name="at"/> (a
    /// strategy's close, under its <paramref name="guard"/>), or at the last known price (said in the answer, no terms
    /// applied: there is no market) when the exchange no longer lists the symbol. A closed trade is 409. A caller that has
    /// just read the trade (a tick) says what it read (<paramref name="known"/>), and it is not read before the lock; under
    /// the lock it must still be that bot's trade in that symbol.
    /// </summary>
    public async Task<OrderResult> CloseTradeAsync(long tradeId, CancellationToken cancellationToken, Quote? at = null, IOrderGuard? guard = null,
        FillTerms? terms = null, KnownTrade? known = null)
    {
        if (known is null)
        {
            var read = await db.Trades.AsNoTracking().FirstOrDefaultAsync(t => t.Id == tradeId, cancellationToken)
                ?? throw new PaperException(404, "id", $"no trade {tradeId}");
            if (read.Status != TradeStatus.Open) throw Closed(tradeId);
            known = new KnownTrade(read.BotId, read.Symbol, read.Amount);
        }

        var (quote, stale) = at is { } given ? (given, false) : await marks.GetQuoteAsync(known.Symbol, cancellationToken);
        terms = stale ? AtLastKnown : terms ?? await TermsAsync(known.BotId, cancellationToken);
        var market = await MarketAsync(known.Symbol, Sides.Sell, (known.Amount, null), terms, quote, cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        // Read again under the lock (a concurrent close may have won), in the lock's round trip: what counts is this row.
        var (account, _, refused, locked) = await OpenAccountAsync(known.BotId, null, guard, cancellationToken, tradeId);
        var trade = locked ?? await db.Trades.FirstOrDefaultAsync(t => t.Id == tradeId, cancellationToken);
        if (trade is null || trade.BotId != known.BotId || trade.Symbol != known.Symbol)
            throw new PaperException(404, "id", $"no {known.Symbol} trade {tradeId} of {(known.BotId is { } bot ? $"bot {bot}" : "the manual account")}");
        if (trade.Status != TradeStatus.Open) throw Closed(tradeId);
        if (refused is not null) throw refused;
        EnsureCurrency(account, trade.Symbol);

        var price = FillPrice(terms, market, trade.Symbol, Sides.Sell, trade.Amount, null, "id");
        EnsureRules(market, trade.Amount, price, "id");
        var sale = PaperRules.SellFrom(Lot(trade), trade.Amount, price, account.FeeRate);
        var order = await ApplySaleAsync(trade, sale, price, cancellationToken);
        SetCash(account, PaperRules.CashAfter(account.Cash, sale));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        waker.Wake();
        return new OrderResult(OrderView.From(order), trade.Id, [OrderView.From(order)], PriceStale: stale);
    }

    private static PaperException Closed(long tradeId) => new(409, "id", $"trade {tradeId} is already closed");

    /// <summary>A close at the last known price of a symbol the exchange no longer lists: no book, no rules, no slippage.</summary>
    private static readonly FillTerms AtLastKnown = new(FillModels.Last, 0m, ExchangeRules: false);

    /// <summary>An account holds one currency: a symbol quoted in another is refused (422), before anything is written.</summary>
    private static void EnsureCurrency(AccountState account, string symbol)
    {
        if (PaperRules.CurrencyMismatch(symbol, account.QuoteCurrency) is { } reason) throw new PaperException(422, "symbol", reason);
    }

    private async Task<OrderResult> BuyAsync(OrderRequest request, AccountState account, FillTerms terms, MarketView market, CancellationToken cancellationToken)
    {
        var field = request.QuoteAmount.HasValue ? "quote_amount" : "base_qty";
        var price = FillPrice(terms, market, request.Symbol, Sides.Buy, request.BaseQty, request.QuoteAmount, field);
        var fill = PaperRules.Buy(price, request.QuoteAmount, request.BaseQty, account.FeeRate, market.Rules);
        EnsureRules(market, fill.Qty, price, field);
        var refusal = PaperRules.Refusal(fill, account.Cash);
        if (refusal == BuyRefusal.TooSmall) throw new PaperException(400, field, $"too small: it fills nothing at {WireJson.Format(price)}");
        if (refusal == BuyRefusal.InsufficientCash)
        {
            throw new PaperException(422, field,
                $"insufficient cash: the buy costs {WireJson.Format(fill.Quote + fill.Fee)} (fee {WireJson.Format(fill.Fee)} included), "
                + $"the account has {WireJson.Format(account.Cash)}");
        }

        var now = time.GetUtcNow();
        var unrealized = PaperRules.Unrealized(fill.Qty, price, fill.Quote, fill.Fee);
        var trade = new Trade
        {
            BotId = request.BotId, Symbol = request.Symbol, Side = Sides.Buy, Amount = fill.Qty, Price = price, Status = TradeStatus.Open,
            CostBasisQuote = fill.Quote, FeesPaidQuote = fill.Fee, UnrealizedPnlQuote = unrealized, Pnl = unrealized, CreatedAt = now,
        };
        await db.Trades.AddAsync(trade, cancellationToken);
        SetCash(account, PaperRules.CashAfter(account.Cash, fill));
        var order = await AddOrderAsync(request.BotId, trade.Id, request.Symbol, Sides.Buy, fill.Qty, fill.Quote, price, fill.Fee, now, cancellationToken);
        Emit(EventTypes.TradeOpened, new TradeOpened(request.BotId, trade.Id, order.Id, trade.Symbol, fill.Qty, price, fill.Quote, fill.Fee, now));
        return new OrderResult(OrderView.From(order), trade.Id, [OrderView.From(order)]);
    }

    private async Task<OrderResult> SellAsync(OrderRequest request, AccountState account, FillTerms terms, MarketView market, CancellationToken cancellationToken)
    {
        var open = await db.Trades
            .Where(t => t.BotId == request.BotId && t.Symbol == request.Symbol && t.Status == TradeStatus.Open)
            .OrderBy(t => t.CreatedAt).ThenBy(t => t.Id)
            .ToListAsync(cancellationToken);
        var held = PaperRules.Held(open.Select(Lot));
        var field = request.BaseQty.HasValue ? "base_qty" : request.QuoteAmount.HasValue ? "quote_amount" : "symbol";
        var nothing = $"no open {request.Symbol} position to sell";
        if (held == 0 && field == "symbol") throw new PaperException(422, field, nothing);
        // Without an amount it sells all held: the walk is for that much.
        var price = FillPrice(terms, market, request.Symbol, Sides.Sell, request.QuoteAmount is null ? request.BaseQty ?? held : null, request.QuoteAmount, field);
        // An amount asked for is on the exchange's step under its rules; all held is sold as held.
        var qty = PaperRules.SellQty(request.BaseQty, request.QuoteAmount, price) is { } asked ? PaperRules.OnStep(asked, market.Rules) : (decimal?)null;
        if (qty == 0) throw new PaperException(400, field, $"too small: it sells nothing at {WireJson.Format(price)}");
        if (held == 0) throw new PaperException(422, field, nothing);
        if (qty > held)
            throw new PaperException(422, field, $"cannot sell {WireJson.Format(qty!.Value)} {request.Symbol}: {WireJson.Format(held)} held (no short positions)");
        EnsureRules(market, qty ?? held, price, field);

        var orders = new List<Order>();
        var cash = account.Cash;
        foreach (var sale in PaperRules.Sell([.. open.Select(Lot)], qty, price, account.FeeRate))
        {
            orders.Add(await ApplySaleAsync(open.First(t => t.Id == sale.TradeId), sale, price, cancellationToken));
            cash = PaperRules.CashAfter(cash, sale);
        }
        SetCash(account, cash);
        return new OrderResult(OrderView.From(orders[0]), orders[0].TradeId, [.. orders.Select(OrderView.From)]);
    }

    /// <summary>Applies one sale to its trade, adds the filled sell order linked to it and its event.</summary>
    private async Task<Order> ApplySaleAsync(Trade trade, LotSale sale, decimal price, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        trade.FeesPaidQuote = sale.FeesPaidQuote;
        trade.RealizedPnlQuote = sale.RealizedPnlQuote;
        if (sale.Closes)
        {
            trade.Status = TradeStatus.Closed;
            trade.ClosedAt = now;
            trade.UnrealizedPnlQuote = 0;
            trade.Pnl = sale.RealizedPnlQuote;
        }
        else
        {
            trade.Amount = sale.RemainingAmount;
            trade.CostBasisQuote = sale.RemainingCostBasis;
            trade.UnrealizedPnlQuote = PaperRules.Unrealized(trade.Amount, price, trade.CostBasisQuote, trade.FeesPaidQuote);
            trade.Pnl = trade.RealizedPnlQuote + trade.UnrealizedPnlQuote;
        }
        var order = await AddOrderAsync(trade.BotId, trade.Id, trade.Symbol, Sides.Sell, sale.Qty, sale.Proceeds, price, sale.Fee, now, cancellationToken);
        if (sale.Closes)
            Emit(EventTypes.TradeClosed, new TradeClosed(trade.BotId, trade.Id, order.Id, trade.Symbol, price, trade.RealizedPnlQuote, trade.FeesPaidQuote, now));
        else
            Emit(EventTypes.TradeUpdated, new TradeUpdated(trade.BotId, trade.Id, trade.Symbol, price, trade.UnrealizedPnlQuote, now));
        return order;
    }

    private void Emit<T>(string type, T data) => Outbox.Add(db, type, data, time.GetUtcNow());

    /// <summary>A filled paper order; for a fill, quote_amount and base_qty are what was filled (cash moved, base moved).</summary>
    private async Task<Order> AddOrderAsync(long? botId, long tradeId, string symbol, string side, decimal qty, decimal quote, decimal price,
        decimal fee, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var order = new Order
        {
            BotId = botId, TradeId = tradeId, ExchangeId = $"paper-{Guid.CreateVersion7():N}", Symbol = symbol, Side = side, Type = "market",
            Amount = qty, QuoteAmount = quote, BaseQty = qty, Price = price, FeeQuote = fee, PaperMode = true, Status = "filled", CreatedAt = now,
        };
        await db.Orders.AddAsync(order, cancellationToken);
        return order;
    }

    private static OpenLot Lot(Trade t) => new(t.Id, t.Amount, t.CostBasisQuote, t.FeesPaidQuote, t.RealizedPnlQuote);

    private sealed record AccountState(string Key, decimal FeeRate, decimal Cash, string QuoteCurrency);

    /// <summary>
    /// Opens the account for this transaction: locks its row until commit (so concurrent orders of one account run one
    /// after another and never overdraw it) and reads its cash and the bot's knobs; in the same round trip, after the lock,
    /// the first response stored for <paramref name="idempotencyKey"/> and the caller's <paramref name="guard"/> (what it
    /// refuses with, or null), and the trade <paramref name="tradeId"/> as it is now, tracked for this transaction's changes
    /// (null when the account was created here: the caller reads it then). On the account's first order, the row is created
    /// with the starting cash and currency of that moment.
    /// </summary>
    private async Task<(AccountState Account, Stored? Replay, Exception? Refused, Trade? Trade)> OpenAccountAsync(long? botId, string? idempotencyKey,
        IOrderGuard? guard, CancellationToken cancellationToken, long? tradeId = null)
    {
        // A failed SaveChanges fails the whole order, so EF's savepoints (two more round trips) would buy nothing.
        db.Database.AutoSavepointsEnabled = false;
        var key = AccountKey(botId);
        AccountState? account = null;
        Stored? stored = null;
        Exception? refused = null;
        Trade? trade = null;
        await using (var batch = new NpgsqlBatch((NpgsqlConnection)db.Database.GetDbConnection(), (NpgsqlTransaction)db.Database.CurrentTransaction!.GetDbTransaction()))
        {
            batch.BatchCommands.Add(Statement("""
                SELECT a.cash, a.quote_currency, b.knobs FROM paper_accounts a LEFT JOIN bots b ON b.id = a.bot_id WHERE a.key = @key FOR UPDATE OF a
                """, ("key", key)));
            if (idempotencyKey is not null) batch.BatchCommands.Add(Statement(StoredSql, ("key", idempotencyKey)));
            if (guard is not null) batch.BatchCommands.Add(guard.Statement());
            if (tradeId is not null) batch.BatchCommands.Add(Statement(TradeSql, ("id", tradeId)));
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                account = new AccountState(key, PaperRules.FeeRate(reader.IsDBNull(2) ? null : reader.GetString(2), options.Value.FeeRate),
                    reader.GetDecimal(0), reader.GetString(1));
            }
            if (idempotencyKey is not null && await reader.NextResultAsync(cancellationToken)) stored = await ReadStoredAsync(reader, cancellationToken);
            if (guard is not null && await reader.NextResultAsync(cancellationToken) && !await reader.ReadAsync(cancellationToken)) refused = guard.Refused();
            // Read under the lock only where there was an account to lock.
            if (account is not null && tradeId is not null && await reader.NextResultAsync(cancellationToken) && await reader.ReadAsync(cancellationToken))
                trade = Tracked(reader);
        }
        if (account is not null) return (account, stored, refused, trade);

        string? knobs = null;
        List<string>? symbols = null;
        if (botId is not null)
        {
            var bot = await db.Bots.Where(b => b.Id == botId).Select(b => new { b.Knobs, b.Symbols }).FirstOrDefaultAsync(cancellationToken)
                ?? throw new PaperException(404, "bot_id", $"no bot {botId}");
            (knobs, symbols) = (bot.Knobs, bot.Symbols);
        }
        var startingCash = PaperRules.StartingCash(knobs, options.Value.StartingCash);
        var currency = PaperRules.AccountCurrency(symbols, options.Value.QuoteCurrency);
        var now = time.GetUtcNow();
        // A concurrent first order may be creating it too: DO NOTHING (on any unique index: key and bot_id both collide)
        // waits for that insert to commit, and the SELECT then waits for its lock and reads the row it left.
        await using (var create = Command("""
            INSERT INTO paper_accounts (key, bot_id, quote_currency, starting_cash, cash, created_at, updated_at)
            VALUES (@key, @bot, @currency, @cash, @cash, @now, @now)
            ON CONFLICT DO NOTHING;
            SELECT cash, quote_currency FROM paper_accounts WHERE key = @key FOR UPDATE
            """, ("key", key), ("bot", (object?)botId ?? DBNull.Value), ("currency", currency), ("cash", startingCash), ("now", now)))
        await using (var created = await create.ExecuteReaderAsync(cancellationToken))
        {
            await created.ReadAsync(cancellationToken);
            account = new AccountState(key, PaperRules.FeeRate(knobs, options.Value.FeeRate), created.GetDecimal(0), created.GetString(1));
        }
        // The key was looked up before this lock was held: a first attempt that created the account may have committed since.
        if (idempotencyKey is not null) stored = await StoredAsync(idempotencyKey, cancellationToken);
        return (account, stored, refused, null);
    }

    private const string TradeSql = """
        SELECT id, bot_id, symbol, side, amount, price, status, cost_basis_quote, fees_paid_quote, unrealized_pnl_quote,
               realized_pnl_quote, pnl, closed_at, created_at
        FROM trades WHERE id = @id
        """;

    /// <summary>The trade of the reader's row, tracked as unchanged (an instance of it tracked before is let go: this row is newer).</summary>
    private Trade Tracked(System.Data.Common.DbDataReader reader)
    {
        var trade = new Trade
        {
            Id = reader.GetInt64(0), BotId = reader.IsDBNull(1) ? null : reader.GetInt64(1), Symbol = reader.GetString(2), Side = reader.GetString(3),
            Amount = reader.GetDecimal(4), Price = reader.GetDecimal(5), Status = reader.GetString(6), CostBasisQuote = reader.GetDecimal(7),
            FeesPaidQuote = reader.GetDecimal(8), UnrealizedPnlQuote = reader.GetDecimal(9), RealizedPnlQuote = reader.GetDecimal(10),
            Pnl = reader.GetDecimal(11), ClosedAt = reader.IsDBNull(12) ? null : reader.GetFieldValue<DateTimeOffset>(12),
            CreatedAt = reader.GetFieldValue<DateTimeOffset>(13),
        };
        if (db.Trades.Local.FindEntry(trade.Id) is { } before) before.State = EntityState.Detached;
        db.Trades.Attach(trade);
        return trade;
    }

    private static NpgsqlBatchCommand Statement(string sql, params (string Name, object Value)[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return command;
    }

    private NpgsqlCommand Command(string sql, params (string Name, object Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, (NpgsqlConnection)db.Database.GetDbConnection(),
            (NpgsqlTransaction)db.Database.CurrentTransaction!.GetDbTransaction());
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return command;
    }

    /// <summary>Writes the account's new cash with the rest of the transaction's changes.</summary>
    private void SetCash(AccountState account, decimal cash)
    {
        var row = new PaperAccount { Key = account.Key, QuoteCurrency = account.QuoteCurrency, Cash = cash, UpdatedAt = time.GetUtcNow() };
        db.PaperAccounts.Attach(row);
        db.Entry(row).Property(a => a.Cash).IsModified = true;
        db.Entry(row).Property(a => a.UpdatedAt).IsModified = true;
    }
}
