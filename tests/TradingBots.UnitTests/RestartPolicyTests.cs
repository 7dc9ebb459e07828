using TradingBots.Runner;

namespace TradingBots.UnitTests;

public sealed class RestartPolicyTests
{
    [Fact]
    public void Crashes_in_a_row_back_off_from_one_second_then_it_gives_up()
    {
        var policy = new RestartPolicy();

        var delays = Enumerable.Range(0, 6).Select(_ => policy.NextDelay(TimeSpan.FromSeconds(2))).ToList();

        Assert.Equal([1, 2, 4, 8, 16], delays.Take(5).Select(d => d!.Value.TotalSeconds));
        Assert.Null(delays[5]);
        Assert.Null(policy.NextDelay(TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void A_run_that_stayed_up_a_minute_starts_the_count_again()
    {
        var policy = new RestartPolicy();
        policy.NextDelay(TimeSpan.FromSeconds(1));
        policy.NextDelay(TimeSpan.FromSeconds(1));
        Assert.Equal(2, policy.InARow);

        Assert.Equal(TimeSpan.FromSeconds(1), policy.NextDelay(TimeSpan.FromMinutes(5)));
        Assert.Equal(1, policy.InARow);
        Assert.Equal(TimeSpan.FromSeconds(2), policy.NextDelay(TimeSpan.FromSeconds(59)));
    }
}
