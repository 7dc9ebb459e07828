using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;
using TradingBots.Events;

namespace TradingBots.Bench;

/// <summary>
/// GET /sse with many clients at once: each client is a real HTTP connection to the gateway reading its stream; events
/// are published by the product's own publisher (the Lua step: log + PUBLISH) on the bench's Redis at a steady rate, each
/// carrying the time it was published, so each client measures PUBLISH → receipt. Reported: p50/p99 over every delivery,
/// events delivered per second, and the gateway's memory per connected client (its RSS before and after connecting them).
/// </summary>
public sealed class Sse(string gatewayUrl, string redis, Func<int> gatewayPid, Action<string> say)
{
    public async Task RunAsync(int[] clientCounts, int[] rates, TimeSpan duration)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis);
        var publisher = new EventPublisher(connection);
        say("| clients | events/s published | deliveries | delivered/s | p50 ms | p99 ms | max ms | lost | CPU µs per delivery: gateway / clients | gateway RSS per client |");
        say("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var count in clientCounts)
        {
            var rssBefore = RssBytes(gatewayPid());
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionLifetime = Timeout.InfiniteTimeSpan };
            using var http = new HttpClient(handler) { BaseAddress = new Uri(gatewayUrl), Timeout = Timeout.InfiniteTimeSpan };
            using var stop = new CancellationTokenSource();
            var clients = new List<Client>(count);
            for (var opened = 0; opened < count; opened += 200)
            {
                var batch = await Task.WhenAll(Enumerable.Range(0, Math.Min(200, count - opened)).Select(_ => Client.OpenAsync(http, stop.Token)));
                clients.AddRange(batch);
            }
            await Task.Delay(TimeSpan.FromSeconds(2)); // settled: every stream open, the first frames read
            var rssAfter = RssBytes(gatewayPid());

            foreach (var eventsPerSecond in rates)
            {
                var run = Guid.NewGuid().ToString("N")[..6];
                var total = (int)(eventsPerSecond * duration.TotalSeconds);
                var cpuBefore = CpuSeconds(gatewayPid());
                var benchBefore = CpuSeconds(Environment.ProcessId);
                var started = Stopwatch.GetTimestamp();
                for (var i = 0; i < total; i++)
                {
                    var due = started + (long)(i * Stopwatch.Frequency / (double)eventsPerSecond);
                    while (Stopwatch.GetTimestamp() < due) await Task.Delay(1);
                    await publisher.PublishAsync(EventTypes.SystemNotice,
                        new SystemNotice($"sse {run} {i} {Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture)}", DateTimeOffset.UtcNow));
                }
                // Until every client has the last event (or 30 s).
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (clients.Any(c => c.Received(run) < total) && DateTime.UtcNow < deadline) await Task.Delay(100);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var cpu = CpuSeconds(gatewayPid()) - cpuBefore;
                var benchCpu = CpuSeconds(Environment.ProcessId) - benchBefore;

                var latencies = clients.SelectMany(c => c.Latencies(run)).Order().ToArray();
                var lost = (long)total * count - latencies.Length;
                double At(double q) => latencies.Length == 0 ? double.NaN : latencies[Math.Min(latencies.Length - 1, (int)(q * latencies.Length))];
                say($"| {count:N0} | {eventsPerSecond} | {latencies.Length:N0} | {latencies.Length / elapsed:N0} | {At(0.5):0.0} | **{At(0.99):0.0}** | {latencies.LastOrDefault():0.0} | "
                    + $"{lost:N0} | {cpu * 1e6 / Math.Max(1, latencies.Length):0.0} / {benchCpu * 1e6 / Math.Max(1, latencies.Length):0.0} | {(rssAfter - rssBefore) / (double)count / 1024:0.0} KiB |");
            }
            await stop.CancelAsync();
            foreach (var client in clients) client.Dispose();
            await Task.Delay(TimeSpan.FromSeconds(2)); // the gateway lets them go
        }
    }

    /// <summary>User + system CPU time of a process so far (/proc/pid/stat, in clock ticks of 1/100 s).</summary>
    private static double CpuSeconds(int pid)
    {
        var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private static long RssBytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>One SSE client: reads its stream line by line and keeps, per run, the latency of each notice it got.</summary>
    private sealed class Client : IDisposable
    {
        private readonly HttpResponseMessage _response;
        private readonly List<(string Run, double Ms)> _got = [];
        private readonly Lock _gate = new();

        private Client(HttpResponseMessage response, CancellationToken stop)
        {
            _response = response;
            _ = ReadAsync(stop);
        }

        public static async Task<Client> OpenAsync(HttpClient http, CancellationToken stop)
        {
            var response = await http.GetAsync("/sse", HttpCompletionOption.ResponseHeadersRead, stop);
            response.EnsureSuccessStatusCode();
            return new Client(response, stop);
        }

        public int Received(string run) { lock (_gate) return _got.Count(g => g.Run == run); }

        public IEnumerable<double> Latencies(string run) { lock (_gate) return [.. _got.Where(g => g.Run == run).Select(g => g.Ms)]; }

        private async Task ReadAsync(CancellationToken stop)
        {
            try
            {
                using var reader = new StreamReader(await _response.Content.ReadAsStreamAsync(stop), bufferSize: 4096);
                while (await reader.ReadLineAsync(stop) is { } line)
                {
                    var at = line.IndexOf("\"message\":\"sse ", StringComparison.Ordinal);
                    if (at < 0) continue;
                    var parts = line[(at + 15)..line.IndexOf('"', at + 15)].Split(' ');
                    var ms = Stopwatch.GetElapsedTime(long.Parse(parts[2], CultureInfo.InvariantCulture)).TotalMilliseconds;
                    lock (_gate) _got.Add((parts[0], ms));
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException) { }
        }

        public void Dispose() => _response.Dispose();
    }
}
