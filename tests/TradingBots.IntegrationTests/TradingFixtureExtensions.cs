using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using TradingBots.Tests;

namespace TradingBots.IntegrationTests;

/// <summary>What the trading tests need from the topology: their own bot (their own paper account) and its rows.</summary>
public static class TradingFixtureExtensions
{
    /// <summary>
    /// A fresh bot, straight into the table (the bots API is not part of these tests). Its account fills by the spec's rule
    /// (the last price, no exchange filters: <c>exchange_rules</c> false) unless <paramref name="knobs"/> say otherwise.
    /// </summary>
    public static async Task<long> CreateBotAsync(this TopologyFixture topology, string knobs = "{}", string[]? symbols = null)
    {
        await using var connection = await topology.OpenDatabaseAsync();
        await using var insert = new NpgsqlCommand("""
            INSERT INTO bots (name, symbols, timeframe, paper_mode, strategy, knobs, status, stop_requested, created_at, updated_at)
            VALUES ('test-' || gen_random_uuid(), @symbols, '1m', true, 'baseline', '{"exchange_rules": false}'::jsonb || @knobs::jsonb, 'stopped',
                    false, now(), now())
            RETURNING id
            """, connection);
        insert.Parameters.AddWithValue("knobs", knobs);
        insert.Parameters.AddWithValue("symbols", symbols ?? ["BTC/USDT"]);
        return (long)(await insert.ExecuteScalarAsync())!;
    }

    public static async Task<long> CountAsync(this TopologyFixture topology, string table, long botId)
    {
        await using var connection = await topology.OpenDatabaseAsync();
        await using var count = new NpgsqlCommand($"SELECT count(*) FROM {table} WHERE bot_id = @bot", connection);
        count.Parameters.AddWithValue("bot", botId);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    public static async Task<long> CountBuysAsync(this TopologyFixture topology, long botId) =>
        (long)(await topology.ScalarAsync($"SELECT count(*) FROM orders WHERE bot_id = {botId} AND side = 'buy'"))!;

    /// <summary>
    /// Waits until the symbol's last <paramref name="candles"/> closed 1 s candles all closed at <paramref name="price"/>
    /// (as the market serves them to the bots): moving averages over that many candles are flat again.
    /// </summary>
    public static Task WaitForFlatCandlesAsync(this TopologyFixture topology, string symbol, decimal price, int candles) =>
        Eventually.UntilAsync(async () =>
        {
            using var json = JsonDocument.Parse(await topology.Gateway.GetStringAsync(
                $"/api/market/ohlcv?symbol={Uri.EscapeDataString(symbol)}&timeframe=1s&limit={candles + 1}", TestContext.Current.CancellationToken));
            var closed = json.RootElement.EnumerateArray().SkipLast(1).ToList(); // the newest is still open
            return closed.Count == candles && closed.All(candle => candle[4].GetDecimal() == price);
        }, $"{candles} closed 1 s candles of {symbol} at {price}", TimeSpan.FromSeconds(20), cancellationToken: TestContext.Current.CancellationToken);

    public static async Task<(HttpResponseMessage Response, JsonElement Body)> PostOrderAsync(this TopologyFixture topology, object order,
        string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/orders") { Content = JsonContent.Create(order) };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        var response = await topology.Gateway.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement);
    }

    public static async Task<JsonElement> GetJsonAsync(this TopologyFixture topology, string url)
    {
        using var response = await topology.Gateway.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"{url}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    /// <summary>POSTs a JSON text through the gateway; the body parsed (default when empty).</summary>
    public static async Task<(HttpResponseMessage Response, JsonElement Body)> PostJsonAsync(this TopologyFixture topology, string url, string json = "{}")
    {
        var response = await topology.Gateway.PostAsync(url, new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
            TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return (response, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement);
    }

    /// <summary>The first column of the first row of a query on the test run's database.</summary>
    public static async Task<object?> ScalarAsync(this TopologyFixture topology, string sql)
    {
        await using var connection = await topology.OpenDatabaseAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(TestContext.Current.CancellationToken);
    }
}
