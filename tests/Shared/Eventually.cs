using System.Diagnostics;

namespace TradingBots.Tests;

/// <summary>
/// Waits for a condition instead of sleeping a fixed time: checks it at once, then again every <c>every</c> (100 ms
/// unless told) until it holds; once <c>timeout</c> (30 s unless told) has passed, a TimeoutException names what was
/// awaited. The tests' one polling loop.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DefaultEvery = TimeSpan.FromMilliseconds(100);

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, TimeSpan? every = null,
        CancellationToken cancellationToken = default)
    {
        var limit = timeout ?? DefaultTimeout;
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > limit) throw new TimeoutException($"not within {limit.TotalSeconds:0.###} s: {what}");
            await Task.Delay(every ?? DefaultEvery, cancellationToken);
        }
    }

    /// <summary>The same for a condition on what the test holds in memory.</summary>
    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null, TimeSpan? every = null,
        CancellationToken cancellationToken = default) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeout, every, cancellationToken);

    /// <summary>Waits until <paramref name="probe"/> has something (not null), and returns it.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T?>> probe, string what, TimeSpan? timeout = null, TimeSpan? every = null,
        CancellationToken cancellationToken = default) where T : class
    {
        T? value = null;
        await UntilAsync(async () => (value = await probe()) is not null, what, timeout, every, cancellationToken);
        return value!;
    }
}
