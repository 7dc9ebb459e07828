using TradingBots.Strategies.Indicators;

namespace TradingBots.UnitTests;

/// <summary>
/// The indicators against published worked examples, to the precision they were published at: StockCharts ChartSchool's
/// spreadsheets (cs-movavg.xls, cs-rsi.xls, the Bollinger Bands table; 4-decimal closes, results to 2 decimals) and the
/// full-precision Bollinger figures quoted with them; Achelis, Technical Analysis from A to Z (results to 3 or 4 decimals).
/// The published figures round half away from zero, as a spreadsheet does.
/// </summary>
public sealed class IndicatorReferenceTests
{
    private static decimal?[] Rounded(IEnumerable<decimal?> values, int places) =>
        [.. values.Select(v => v is { } x ? Math.Round(x, places, MidpointRounding.AwayFromZero) : (decimal?)null)];

    /// <summary>cs-movavg.xls's 30 closes.</summary>
    private static readonly decimal[] MovingAverageCloses =
    [
        22.2734m, 22.194m, 22.0847m, 22.1741m, 22.184m, 22.1344m, 22.2337m, 22.4323m, 22.2436m, 22.2933m,
        22.1542m, 22.3926m, 22.3816m, 22.6109m, 23.3558m, 24.0519m, 23.753m, 23.8324m, 23.9516m, 23.6338m,
        23.8225m, 23.8722m, 23.6537m, 23.187m, 23.0976m, 23.326m, 22.6805m, 23.0976m, 22.4025m, 22.1725m,
    ];

    [Fact]
    public void Sma_10_matches_stockcharts()
    {
        decimal?[] published =
        [
            22.22m, 22.21m, 22.23m, 22.26m, 22.31m, 22.42m, 22.61m, 22.77m, 22.91m, 23.08m, 23.21m,
            23.38m, 23.53m, 23.65m, 23.71m, 23.69m, 23.61m, 23.51m, 23.43m, 23.28m, 23.13m,
        ];
        Assert.Equal(published, Rounded(Sma.Of(MovingAverageCloses, 10).Skip(9), 2));
    }

    [Fact]
    public void Ema_10_matches_stockcharts_to_8_decimals()
    {
        decimal?[] published =
        [
            22.22475m, 22.21192273m, 22.24477314m, 22.26965075m, 22.33169607m, 22.51789678m, 22.79680646m,
            22.97065983m, 23.12733986m, 23.27720534m, 23.34204073m, 23.42939696m, 23.50990661m, 23.53605086m,
            23.47258707m, 23.4044076m, 23.39015167m, 23.2611241m, 23.23139244m, 23.08068473m, 22.91556023m,
        ];
        Assert.Equal(published, Rounded(Ema.Of(MovingAverageCloses, 10).Skip(9), 8));
    }

    [Fact]
    public void Sma_5_matches_achelis() =>
        Assert.Equal([24.75m, 24.675m, 24.744m, 25.238m],
            Rounded(Sma.Of([25m, 24.875m, 24.781m, 24.594m, 24.5m, 24.625m, 25.219m, 27.25m], 5).Skip(4), 3));

    [Fact]
    public void Rsi_14_matches_stockcharts()
    {
        decimal[] closes =
        [
            44.3389m, 44.0902m, 44.1497m, 43.6124m, 44.3278m, 44.8264m, 45.0955m, 45.4245m, 45.8433m, 46.0826m, 45.8931m,
            46.0328m, 45.6140m, 46.2820m, 46.2820m, 46.0028m, 46.0328m, 46.4116m, 46.2222m, 45.6439m, 46.2122m, 46.2521m,
            45.7137m, 46.4515m, 45.7835m, 45.3548m, 44.0288m, 44.1783m, 44.2181m, 44.5672m, 43.4205m, 42.6628m, 43.1314m,
        ];
        decimal?[] published =
        [
            70.53m, 66.32m, 66.55m, 69.41m, 66.36m, 57.97m, 62.93m, 63.26m, 56.06m, 62.38m,
            54.71m, 50.42m, 39.99m, 41.46m, 41.87m, 45.46m, 37.30m, 33.08m, 37.77m,
        ];
        Assert.Equal(published, Rounded(Rsi.Of(closes, 14).Skip(14), 2));
    }

    [Fact]
    public void Rsi_5_matches_achelis()
    {
        decimal[] closes =
        [
            37.875m, 39.5m, 38.75m, 39.8125m, 40m, 39.875m, 40.1875m, 41.25m, 41.125m, 41.625m, 41.25m, 40.1875m, 39.9375m, 39.9375m,
            40.5m, 41.9375m, 42.25m, 42.25m, 41.875m, 41.875m,
        ];
        decimal?[] published =
            [76.6667m, 78.8679m, 84.9158m, 81.4863m, 84.5968m, 73.0851m, 49.3173m, 45.0119m, 45.0119m, 57.9252m, 75.9596m, 78.4676m, 78.4676m, 65.6299m, 65.6299m];
        Assert.Equal(published, Rounded(Rsi.Of(closes, 5).Skip(5), 4));
    }

    [Fact]
    public void Bollinger_20_2_matches_stockcharts_with_the_population_deviation()
    {
        decimal[] closes =
        [
            86.16m, 89.09m, 88.78m, 90.32m, 89.07m, 91.15m, 89.44m, 89.18m, 86.93m, 87.68m, 86.96m, 89.43m, 89.32m, 88.72m,
            87.45m, 87.26m, 89.50m, 87.90m, 89.13m, 90.70m, 92.90m, 92.98m, 91.80m, 92.66m, 92.68m, 92.30m, 92.77m, 92.54m,
            92.95m, 93.20m, 91.07m, 89.83m, 89.74m, 90.40m, 90.74m, 88.02m, 88.09m, 88.84m, 90.78m, 90.54m, 91.39m, 90.65m,
        ];
        var bands = Bollinger.Of(closes);
        // The full-precision figures published with the table (upper, middle, lower), to 7 decimals, at closes 19 … 23.
        (decimal, decimal, decimal)[] published =
        [
            (91.2919107m, 88.7085m, 86.1250893m), (91.9497209m, 89.0455m, 86.1412791m), (92.6132536m, 89.2400m, 85.8667464m),
            (92.9344497m, 89.3910m, 85.8475503m), (93.3114122m, 89.5080m, 85.7045878m),
        ];
        Assert.Equal(published, bands[19..24].Select(b => (Math.Round(b!.Value.Upper, 7), Math.Round(b.Value.Middle, 7), Math.Round(b.Value.Lower, 7))));
        // And the last row of the 2-decimal table.
        Assert.Equal((91.05m, 94.15m, 87.95m), (Math.Round(bands[41]!.Value.Middle, 2), Math.Round(bands[41]!.Value.Upper, 2), Math.Round(bands[41]!.Value.Lower, 2)));
    }
}
