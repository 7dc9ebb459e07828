using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using TradingBots.Data;
using TradingBots.Events;

namespace TradingBots.Paper;

/// <summary>
/// Executes paper market orders against live prices. Each bot is one account (orders without a bot use the
/// manual account); every change to an account happens in one transaction holding that account's advisory
/// lock, so concurrent orders never overdraw it and a trade is closed once. Events go to the outbox in the
/// same transaction and leave only after the commit.
/// </summary>
public sealed class PaperEngine(TradingDbContext db, PriceSource prices, IOptions<PaperOptions> options, TimeProvider time)
{
    public const string OutboxChannel = "outbox_events";

    /// <summary>POST /orders. With an idempotency key, a retry gets the first response (status and body) back.</summary>
    public async Task<(int Status, string Body)> PlaceOrderAsync(OrderRequest request, string? idempotencyKey, string requestHash,
        CancellationToken cancellationToken)
    {
        // The price first: no lock is held while the market answers.
        var price = await prices.GetPriceAsync(request.Symbol, cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await LockAccountAsync(request.BotId, cancellationToken);

        if (idempotencyKey is not null && await db.IdempotencyKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Key == idempotencyKey, cancellationToken) is { } seen)
        {
            if (seen.RequestHash != requestHash)
                throw new PaperException(422, "Idempotency-Key", "this key was already used for a different request");
            return (seen.StatusCode, seen.Response);
        }

        var account = await LoadAccountAsync(request.BotId, cancellationToken);
        var result = request.Side == Sides.Buy
            ? await BuyAsync(request, account, price, cancellationToken)
            : await SellAsync(request, account, price, cancellationToken);

        var body = JsonSerializer.Serialize(result, PaperJson.Options);
        if (idempotencyKey is not null)
        {
            db.IdempotencyKeys.Add(new IdempotencyKey
            {
                Key = idempotencyKey, RequestHash = requestHash, StatusCode = 201, Response = body, CreatedAt = time.GetUtcNow(),
            });
        }
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return (201, body);
    }

    /// <summary>POST /trades/{id}/close: the whole trade at the live price. A closed trade is 409.</summary>
    public async Task<OrderResult> CloseTradeAsync(long tradeId, CancellationToken cancellationToken)
    {
        var trade = await db.Trades.AsNoTracking().FirstOrDefaultAsync(t => t.Id == tradeId, cancellationToken)
            ?? throw new PaperException(404, "id", $"no trade {tradeId}");
        if (trade.Status != TradeStatus.Open) throw new PaperException(409, "id", $"trade {tradeId} is already closed");

        var price = await prices.GetPriceAsync(trade.Symbol, cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await LockAccountAsync(trade.BotId, cancellationToken);
        // Re-read under the lock: a concurrent close may have won.
        trade = await db.Trades.FirstAsync(t => t.Id == tradeId, cancellationToken);
        if (trade.Status != TradeStatus.Open) throw new PaperException(409, "id", $"trade {tradeId} is already closed");

        var account = await LoadAccountAsync(trade.BotId, cancellationToken);
        var sale = PaperRules.SellFrom(Lot(trade), trade.Amount, price, account.FeeRate);
        var order = await ApplySaleAsync(trade, sale, price, cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new OrderResult(OrderView.From(order), trade.Id, [OrderView.From(order)]);
    }

    private async Task<OrderResult> BuyAsync(OrderRequest request, AccountState account, decimal price, CancellationToken cancellationToken)
    {
        var fill = PaperRules.Buy(price, request.QuoteAmount, request.BaseQty, account.FeeRate);
        var cash = account.StartingCash + await CashFlowAsync(request.BotId, cancellationToken);
        if (fill.Quote + fill.Fee > cash)
        {
            throw new PaperException(422, request.QuoteAmount.HasValue ? "quote_amount" : "base_qty",
                $"insufficient cash: the buy costs {fill.Quote + fill.Fee} (fee {fill.Fee} included), the account has {cash}");
        }

        var now = time.GetUtcNow();
        var trade = new Trade
        {
            BotId = request.BotId, Symbol = request.Symbol, Side = Sides.Buy, Amount = fill.Qty, Price = price, Status = TradeStatus.Open,
            CostBasisQuote = fill.Quote, FeesPaidQuote = fill.Fee, CreatedAt = now,
            UnrealizedPnlQuote = PaperRules.Unrealized(fill.Qty, price, fill.Quote, fill.Fee),
        };
        trade.Pnl = trade.UnrealizedPnlQuote;
        db.Trades.Add(trade);
        await db.SaveChangesAsync(cancellationToken);

        var order = NewOrder(request.BotId, trade.Id, request.Symbol, Sides.Buy, fill.Qty, fill.Quote, price, fill.Fee, now);
        db.Orders.Add(order);
        await db.SaveChangesAsync(cancellationToken);
        Emit(EventTypes.TradeOpened, new TradeOpened(request.BotId, trade.Id, order.Id, trade.Symbol, fill.Qty, price, fill.Quote, fill.Fee, now));
        return new OrderResult(OrderView.From(order), trade.Id, [OrderView.From(order)]);
    }

    private async Task<OrderResult> SellAsync(OrderRequest request, AccountState account, decimal price, CancellationToken cancellationToken)
    {
        var open = await db.Trades
            .Where(t => t.BotId == request.BotId && t.Symbol == request.Symbol && t.Status == TradeStatus.Open)
            .OrderBy(t => t.CreatedAt).ThenBy(t => t.Id)
            .ToListAsync(cancellationToken);
        var held = open.Sum(t => t.Amount);
        var qty = request.BaseQty ?? (request.QuoteAmount / price);
        var field = request.BaseQty.HasValue ? "base_qty" : request.QuoteAmount.HasValue ? "quote_amount" : "symbol";
        if (held == 0) throw new PaperException(422, field, $"no open {request.Symbol} position to sell");
        if (qty > held) throw new PaperException(422, field, $"cannot sell {qty} {request.Symbol}: {held} held (no short positions)");

        var sales = PaperRules.Sell([.. open.Select(Lot)], qty, price, account.FeeRate);
        var orders = new List<Order>(sales.Count);
        foreach (var sale in sales)
        {
            orders.Add(await ApplySaleAsync(open.First(t => t.Id == sale.TradeId), sale, price, cancellationToken, save: false));
        }
        await db.SaveChangesAsync(cancellationToken);
        foreach (var (order, sale) in orders.Zip(sales)) EmitSale(open.First(t => t.Id == sale.TradeId), order, sale, price);
        return new OrderResult(OrderView.From(orders[0]), orders[0].TradeId, [.. orders.Select(OrderView.From)]);
    }

    /// <summary>Applies one sale to its trade and adds the filled sell order linked to it.</summary>
    private async Task<Order> ApplySaleAsync(Trade trade, LotSale sale, decimal price, CancellationToken cancellationToken, bool save = true)
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
        var order = NewOrder(trade.BotId, trade.Id, trade.Symbol, Sides.Sell, sale.Qty, sale.Proceeds, price, sale.Fee, now);
        db.Orders.Add(order);
        if (save)
        {
            await db.SaveChangesAsync(cancellationToken);
            EmitSale(trade, order, sale, price);
        }
        return order;
    }

    private void EmitSale(Trade trade, Order order, LotSale sale, decimal price)
    {
        if (sale.Closes)
            Emit(EventTypes.TradeClosed, new TradeClosed(trade.BotId, trade.Id, order.Id, trade.Symbol, price, trade.RealizedPnlQuote,
                trade.FeesPaidQuote, order.CreatedAt));
        else
            Emit(EventTypes.TradeUpdated, new TradeUpdated(trade.BotId, trade.Id, trade.Symbol, price, trade.UnrealizedPnlQuote, order.CreatedAt));
    }

    /// <summary>Adds the event to the outbox of this transaction; the publisher sends it once committed.</summary>
    private void Emit<T>(string type, T data) => db.OutboxEvents.Add(new OutboxEvent
    {
        Type = type, Payload = JsonSerializer.Serialize(data, EventChannel.Json), CreatedAt = time.GetUtcNow(),
    });

    private static Order NewOrder(long? botId, long tradeId, string symbol, string side, decimal qty, decimal quote, decimal price,
        decimal fee, DateTimeOffset now) => new()
    {
        BotId = botId, TradeId = tradeId, ExchangeId = $"paper-{Guid.CreateVersion7():N}", Symbol = symbol, Side = side, Type = "market",
        Amount = qty, QuoteAmount = quote, BaseQty = qty, Price = price, FeeQuote = fee, PaperMode = true, Status = "filled", CreatedAt = now,
    };

    private static OpenLot Lot(Trade t) => new(t.Id, t.Amount, t.CostBasisQuote, t.FeesPaidQuote, t.RealizedPnlQuote);

    private sealed record AccountState(decimal FeeRate, decimal StartingCash);

    private async Task<AccountState> LoadAccountAsync(long? botId, CancellationToken cancellationToken)
    {
        var defaults = options.Value;
        if (botId is null) return new AccountState(defaults.FeeRate, defaults.StartingCash);
        var knobs = await db.Bots.Where(b => b.Id == botId).Select(b => b.Knobs).FirstOrDefaultAsync(cancellationToken)
            ?? throw new PaperException(404, "bot_id", $"no bot {botId}");
        return new AccountState(PaperRules.FeeRate(knobs, defaults.FeeRate), PaperRules.StartingCash(knobs, defaults.StartingCash));
    }

    /// <summary>Cash in minus cash out of the account's filled orders: sells bring proceeds − fee, buys cost quote + fee.</summary>
    public Task<decimal> CashFlowAsync(long? botId, CancellationToken cancellationToken) =>
        db.Orders.Where(o => o.BotId == botId && o.Status == "filled")
            .SumAsync(o => o.Side == Sides.Buy ? -(o.QuoteAmount!.Value + o.FeeQuote) : o.QuoteAmount!.Value - o.FeeQuote, cancellationToken);

    /// <summary>
    /// Serializes every change to one account (until commit), and tells the outbox publisher to look
    /// (a NOTIFY is delivered only if the transaction commits).
    /// </summary>
    private Task LockAccountAsync(long? botId, CancellationToken cancellationToken) =>
        db.Database.ExecuteSqlRawAsync(
            $"SELECT pg_advisory_xact_lock(hashtextextended('paper-account:' || @account, 0)); NOTIFY {OutboxChannel}",
            [new NpgsqlParameter("account", botId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "manual")],
            cancellationToken);
}
