using System.Text;
using System.Text.Json;
using TradingBots.Events;

namespace TradingBots.UnitTests;

public sealed class OutboxTests
{
    private static readonly DateTimeOffset Ts = new(2026, 2, 23, 4, 1, 5, TimeSpan.Zero);

    private static (string Type, string Payload) Updated(int trade) =>
        (EventTypes.TradeUpdated, Outbox.Payload(new TradeUpdated(1, trade, "BTC/USDT", 100120.0m, 0.02m, Ts)));

    [Fact]
    public void One_event_is_a_row_of_its_own_type_as_it_always_was()
    {
        var (type, payload) = Assert.Single(Outbox.Rows([Updated(21)]));

        Assert.Equal("trade.updated", type);
        Assert.Equal("""{"bot_id":1,"trade_id":21,"symbol":"BTC/USDT","price":100120,"unrealized_pnl_quote":0.02,"ts":"2026-02-23T04:01:05+00:00"}""", payload);
    }

    [Fact]
    public void Many_events_are_batch_rows_of_at_most_a_call_each_and_give_back_each_envelope_tail_byte_for_byte()
    {
        var events = Enumerable.Range(1, 250).Select(Updated).Append((Type: EventTypes.PortfolioSnapshot, Payload:
            Outbox.Payload(new PortfolioSnapshotEvent(1, 9999.4m, 9899.4m, 100.0m, Ts)))).ToList();

        var rows = Outbox.Rows(events).ToList();

        // 251 events: 100 + 100 + 51, in order.
        Assert.Equal([Outbox.Batch, Outbox.Batch, Outbox.Batch], rows.Select(r => r.Type));
        var tails = rows.SelectMany(r => Outbox.Tails(r.Payload)).Select(t => Encoding.UTF8.GetString(t.Span)).ToList();
        Assert.Equal(events.Select(e => EventPublisher.Tail(e.Type, e.Payload)), tails);
        Assert.Equal("""
            "type":"portfolio.snapshot","data":{"bot_id":1,"equity":9999.4,"cash":9899.4,"positions_value":100,"ts":"2026-02-23T04:01:05+00:00"}}
            """, tails[^1]);
        // Each row is JSON (the column's type): an array of the envelopes without their ids.
        using var first = JsonDocument.Parse(rows[0].Payload);
        Assert.Equal(100, first.RootElement.GetArrayLength());
        Assert.Equal("trade.updated", first.RootElement[0].GetProperty("type").GetString());
        Assert.Equal(1, first.RootElement[0].GetProperty("data").GetProperty("trade_id").GetInt64());
    }

    [Fact]
    public void Text_outside_ascii_survives_the_batch()
    {
        var notice = (EventTypes.SystemNotice, Outbox.Payload(new SystemNotice("Ticker fetch error: «PEPE/TRY» – 価格", Ts)));

        var row = Assert.Single(Outbox.Rows([notice, notice]));

        Assert.All(Outbox.Tails(row.Payload), t => Assert.Equal(EventPublisher.Tail(notice.Item1, notice.Item2), Encoding.UTF8.GetString(t.Span)));
    }

    [Fact]
    public void Calls_carry_up_to_a_hundred_events_and_never_part_of_a_row()
    {
        static long?[] Row(long? id, int count) => Enumerable.Repeat(id, count).ToArray();

        // Notices (no row): a hundred at a time.
        Assert.Equal([(0, 100), (100, 200), (200, 250)], EventPublisher.Calls(Row(null, 250)));
        // Two rows of 60 do not share a call of 100: the second would be cut.
        Assert.Equal([(0, 60), (60, 120)], EventPublisher.Calls([.. Row(1, 60), .. Row(2, 60)]));
        // A row longer than a call is one call.
        Assert.Equal([(0, 150), (150, 160)], EventPublisher.Calls([.. Row(7, 150), .. Row(8, 10)]));
        // Single-event rows and notices fill calls.
        Assert.Equal([(0, 100), (100, 110)], EventPublisher.Calls([.. Row(1, 60), .. Row(null, 50)]));
        Assert.Equal([(0, 100), (100, 101)], EventPublisher.Calls([.. Enumerable.Range(1, 101).Select(i => (long?)i)]));
        Assert.Empty(EventPublisher.Calls([]));
    }

    [Fact]
    public void A_wake_sends_a_notify_after_it_and_wakes_asked_while_one_is_in_flight_share_one_more()
    {
        // Each NOTIFY ends when the test says; its end runs the waker on in the test's thread (no wait, no timing).
        var sends = new List<TaskCompletionSource>();
        var waker = new OutboxWaker(() =>
        {
            var send = new TaskCompletionSource();
            sends.Add(send);
            return send.Task;
        });

        waker.Wake();
        Assert.Single(sends);
        // Three commits while the first NOTIFY is on its way (it may have left before they committed): one more, after it.
        waker.Wake();
        waker.Wake();
        waker.Wake();
        Assert.Single(sends);
        sends[0].SetResult();
        Assert.Equal(2, sends.Count);
        // A commit while that one is in flight: one more after it, even though that one fails (a failed NOTIFY is dropped).
        waker.Wake();
        sends[1].SetException(new TimeoutException("the database did not answer"));
        Assert.Equal(3, sends.Count);
        // Nothing owed after it.
        sends[2].SetResult();
        Assert.Equal(3, sends.Count);
        // Idle again: the next commit sends at once.
        waker.Wake();
        Assert.Equal(4, sends.Count);
    }
}
