using System.Diagnostics;

namespace TradingBots.Bench;

public sealed record LoadResult(int Concurrency, int Requests, int Failures, double Seconds, double P50Ms, double P99Ms)
{
    public double PerSecond => Requests / Seconds;

    public override string ToString() =>
        $"c={Concurrency,-3} {PerSecond,9:0} req/s  p50 {P50Ms,6:0.00} ms  p99 {P99Ms,6:0.00} ms  ({Requests} ok, {Failures} failed)";
}

/// <summary>A closed-loop load: <c>concurrency</c> workers, each sending its next request when the last one answered.</summary>
public static class Load
{
    public static async Task<LoadResult> RunAsync(int concurrency, TimeSpan duration, Func<int, Task<bool>> request)
    {
        var latencies = new List<double>[concurrency];
        var failures = 0;
        var stop = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var mine = latencies[worker] = [];
            while (stop.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                if (await request(worker)) mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                else Interlocked.Increment(ref failures);
            }
        }));
        var seconds = stop.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new LoadResult(concurrency, all.Length, failures, seconds, Percentile(all, 0.50), Percentile(all, 0.99));
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Length - 1, p * sorted.Length)];
}
