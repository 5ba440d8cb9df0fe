using System.Globalization;
using System.Text.Json;
using OrleansCrm.Models.Ltv;
using Xunit.Abstractions;

namespace OrleansCrm.Models.Tests.Ltv;

[Collection(CdnowCollection.Name)]
public sealed class GammaGammaAndLifetimeValueTests(CdnowFits fits, ITestOutputHelper output)
{
    [Fact]
    public void Gamma_gamma_fit_on_cdnow_repeat_buyers_matches_the_published_parameters()
    {
        var p = fits.GammaGamma;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"p={p.P:F4} q={p.Q:F4} v={p.V:F4} in {fits.GammaGammaFitTime.TotalMilliseconds:F0} ms"));

        Assert.Equal(946, fits.Monetary.Count(c => c.Frequency >= 1));
        AssertWithinRelative(6.25, p.P, 0.02);
        AssertWithinRelative(3.74, p.Q, 0.02);
        AssertWithinRelative(15.44, p.V, 0.02);
    }

    [Fact]
    public void Gamma_gamma_fit_ignores_customers_without_repeat_purchases()
    {
        var repeatBuyersOnly = fits.Monetary.Where(c => c.Frequency >= 1).ToList();
        Assert.Equal(fits.GammaGamma, GammaGammaModel.Fit(repeatBuyersOnly));
        Assert.Throws<ArgumentException>(() => GammaGammaModel.Fit([new RfmObservation(0, 0, 10, 0)]));
    }

    [Fact]
    public void Expected_spend_shrinks_the_observed_mean_toward_the_population_mean()
    {
        var p = fits.GammaGamma;
        double population = p.P * p.V / (p.Q - 1);
        AssertWithinRelative(population, GammaGammaModel.ExpectedAverageSpend(p, 0, 0), 1e-12);

        // A big spender's estimate is pulled down, a small spender's up, and both less so the more purchases back them.
        const double High = 100, Low = 5;
        double previousHigh = population, previousLow = population;
        foreach (int x in new[] { 1, 2, 5, 20, 1000 })
        {
            double high = GammaGammaModel.ExpectedAverageSpend(p, x, High);
            double low = GammaGammaModel.ExpectedAverageSpend(p, x, Low);
            Assert.InRange(high, previousHigh, High);
            Assert.InRange(low, Low, previousLow);
            previousHigh = high;
            previousLow = low;
        }

        AssertWithinRelative(High, GammaGammaModel.ExpectedAverageSpend(p, 1_000_000, High), 1e-3);

        // Observed mean equal to the population mean is a fixed point: nothing to shrink.
        AssertWithinRelative(population, GammaGammaModel.ExpectedAverageSpend(p, 3, population), 1e-12);
    }

    [Fact]
    public void Lifetime_value_is_expected_purchases_times_expected_spend_and_discounting_lowers_it()
    {
        var customer = fits.Monetary[0];
        double purchases = BgNbdModel.ExpectedPurchases(fits.BgNbd, 52, customer);
        double spend = GammaGammaModel.ExpectedAverageSpend(fits.GammaGamma, (int)customer.Frequency, customer.MeanSpend);

        double undiscounted = CustomerLifetimeValue.Predict(fits.BgNbd, fits.GammaGamma, customer, 52);
        AssertWithinRelative(purchases * spend, undiscounted, 1e-12);

        // 10% a year is about 0.18% a week; a year ahead that can cost at most 1 − 1/1.1 of the value.
        double weekly = Math.Pow(1.10, 1.0 / 52) - 1;
        double discounted = CustomerLifetimeValue.Predict(fits.BgNbd, fits.GammaGamma, customer, 52, weekly);
        Assert.InRange(discounted, undiscounted / 1.10, undiscounted);
        Assert.True(discounted < undiscounted);

        Assert.Equal(0.0, CustomerLifetimeValue.Predict(fits.BgNbd, fits.GammaGamma, customer, 0, weekly));
    }

    [Fact]
    public void Fitted_parameters_round_trip_through_json_as_model_artifacts()
    {
        var bgNbd = JsonSerializer.Deserialize<BgNbdParameters>(JsonSerializer.Serialize(fits.BgNbd));
        var gammaGamma = JsonSerializer.Deserialize<GammaGammaParameters>(JsonSerializer.Serialize(fits.GammaGamma));
        Assert.Equal(fits.BgNbd, bgNbd);
        Assert.Equal(fits.GammaGamma, gammaGamma);
    }

    private static void AssertWithinRelative(double expected, double actual, double tolerance) =>
        Assert.True(
            Math.Abs(actual - expected) <= tolerance * Math.Abs(expected),
            string.Create(CultureInfo.InvariantCulture, $"expected {expected} ± {tolerance:P3}, got {actual}"));
}
