using System.Globalization;
using MathNet.Numerics.Integration;
using OrleansCrm.Models.Ltv;
using Xunit.Abstractions;

namespace OrleansCrm.Models.Tests.Ltv;

[Collection(CdnowCollection.Name)]
public sealed class BgNbdModelTests(CdnowFits fits, ITestOutputHelper output)
{
    [Fact]
    public void Bg_nbd_fit_on_the_cdnow_cohort_matches_the_published_parameters()
    {
        var p = fits.BgNbd;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"r={p.R:F4} alpha={p.Alpha:F4} a={p.A:F4} b={p.B:F4} LL={p.LogLikelihood:F2} in {fits.BgNbdFitTime.TotalMilliseconds:F0} ms"));

        Assert.Equal(2357, fits.Summary.Count);
        AssertWithinRelative(0.243, p.R, 0.02);
        AssertWithinRelative(4.414, p.Alpha, 0.02);
        AssertWithinRelative(0.793, p.A, 0.02);
        AssertWithinRelative(2.426, p.B, 0.02);

        // Fader, Hardie & Lee report a maximised log-likelihood of −9582.4 for this cohort.
        Assert.InRange(p.LogLikelihood, -9582.4 - 0.5, -9582.4 + 0.5);
    }

    [Fact]
    public void Bg_nbd_fit_is_a_maximum_of_the_likelihood()
    {
        var p = fits.BgNbd;
        double best = BgNbdModel.LogLikelihood(p, fits.Summary);
        Assert.Equal(p.LogLikelihood, best, 6);

        foreach (double factor in new[] { 0.99, 1.01 })
        {
            Assert.True(BgNbdModel.LogLikelihood(p with { R = p.R * factor }, fits.Summary) < best);
            Assert.True(BgNbdModel.LogLikelihood(p with { Alpha = p.Alpha * factor }, fits.Summary) < best);
            Assert.True(BgNbdModel.LogLikelihood(p with { A = p.A * factor }, fits.Summary) < best);
            Assert.True(BgNbdModel.LogLikelihood(p with { B = p.B * factor }, fits.Summary) < best);
        }
    }

    /// <summary>
    /// The closed form uses 2F1; this recomputes E[Y(t) | x, t_x, T] from the model's definition instead. Given λ and p,
    /// a customer alive at T buys (1 − e^(−λpt)) / p times in the next t; integrating λ against its gamma prior is
    /// elementary, which leaves a one-dimensional integral over p ~ Beta(a, b) done here by Gauss-Legendre quadrature.
    /// </summary>
    [Fact]
    public void Expected_purchases_in_the_next_39_weeks_match_direct_integration_over_the_dropout_probability()
    {
        var p = fits.BgNbd;
        const double Horizon = 39.0;
        double closedFormTotal = 0, integratedTotal = 0, worstRelative = 0;
        foreach (var customer in fits.Summary)
        {
            double closedForm = BgNbdModel.ExpectedPurchases(p, Horizon, customer);
            double integrated = IntegratedExpectedPurchases(p, Horizon, customer);
            closedFormTotal += closedForm;
            integratedTotal += integrated;
            worstRelative = Math.Max(worstRelative, Math.Abs(closedForm - integrated) / integrated);
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cohort total: closed form {closedFormTotal:F4}, integrated {integratedTotal:F4}, worst customer rel. error {worstRelative:E2}"));
        Assert.True(worstRelative < 1e-6, $"worst relative error {worstRelative}");
        AssertWithinRelative(integratedTotal, closedFormTotal, 1e-7);
    }

    [Fact]
    public void Expected_purchases_for_a_customer_with_history_match_the_value_fader_and_hardie_report()
    {
        // Fader & Hardie's BG/NBD Excel note: x = 2, t_x = 30.43, T = 38.86 (CDNOW customer 1) expects 1.226 purchases
        // in the next 39 weeks under the published parameters.
        var published = new BgNbdParameters(0.243, 4.414, 0.793, 2.426, double.NaN);
        double expected = BgNbdModel.ExpectedPurchases(published, 39, new RfmObservation(2, 30.43, 38.86, 0));
        Assert.Equal(1.226, expected, 3);
    }

    /// <summary>
    /// Just after T the purchase rate is P(alive) · E[λ | alive, history], and given survival λ's posterior is
    /// Gamma(r + x, α + T), so E[Y(t)] / t must tend to P(alive) · (r + x) / (α + T) as t → 0. This ties the conditional
    /// expectation to P(alive) without using 2F1.
    /// </summary>
    [Theory]
    [InlineData(0, 0, 38.86)]
    [InlineData(0, 0, 0)]
    [InlineData(2, 30.43, 38.86)]
    [InlineData(1, 1.71, 38.86)]
    [InlineData(14, 35.0, 37.5)]
    public void Expected_purchases_over_a_short_horizon_grow_at_the_surviving_customers_purchase_rate(
        double x, double tx, double age)
    {
        var p = fits.BgNbd;
        var customer = new RfmObservation(x, tx, age, 0);
        const double T = 1e-5;
        double rate = BgNbdModel.ExpectedPurchases(p, T, customer) / T;
        double expected = BgNbdModel.ProbabilityAlive(p, customer) * (p.R + x) / (p.Alpha + age);
        AssertWithinRelative(expected, rate, 1e-4);
    }

    [Fact]
    public void Expected_purchases_grow_with_the_horizon_at_a_falling_rate()
    {
        var p = fits.BgNbd;
        var customer = new RfmObservation(2, 30.43, 38.86, 0);
        double[] horizons = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
        var values = horizons.Select(t => BgNbdModel.ExpectedPurchases(p, t, customer)).ToArray();
        Assert.Equal(0.0, values[0]);
        for (int i = 1; i < values.Length; i++)
        {
            Assert.True(values[i] > values[i - 1], $"E[Y({horizons[i]})] should exceed E[Y({horizons[i - 1]})]");
        }

        // Customers keep dropping out, so each extra week is worth less than the one before (concavity on a doubling grid).
        for (int i = 2; i < values.Length; i++)
        {
            double earlierRate = (values[i - 1] - values[i - 2]) / (horizons[i - 1] - horizons[i - 2]);
            double laterRate = (values[i] - values[i - 1]) / (horizons[i] - horizons[i - 1]);
            Assert.True(laterRate < earlierRate);
        }
    }

    [Fact]
    public void Probability_alive_is_one_without_repeat_purchases_and_falls_with_longer_silence()
    {
        var p = fits.BgNbd;
        Assert.Equal(1.0, BgNbdModel.ProbabilityAlive(p, new RfmObservation(0, 0, 38.86, 0)));
        Assert.Equal(1.0, BgNbdModel.ProbabilityAlive(p, new RfmObservation(0, 0, 0, 0)));

        // Same buyer seen for longer with no new purchase: ever less likely to still be active.
        double previous = 1.0;
        foreach (double age in new[] { 30.5, 35.0, 40.0, 50.0, 80.0 })
        {
            double alive = BgNbdModel.ProbabilityAlive(p, new RfmObservation(5, 30.43, age, 0));
            Assert.InRange(alive, 0.0, previous);
            Assert.True(alive < previous);
            previous = alive;
        }

        // Directly from the formula: x = 1, t_x = T gives 1 / (1 + a / b).
        AssertWithinRelative(1.0 / (1.0 + (p.A / p.B)), BgNbdModel.ProbabilityAlive(p, new RfmObservation(1, 20, 20, 0)), 1e-12);
    }

    [Fact]
    public void Fit_rejects_impossible_histories()
    {
        Assert.Throws<ArgumentException>(() => BgNbdModel.Fit([]));
        Assert.Throws<ArgumentException>(() => BgNbdModel.Fit([new RfmObservation(1, 10, 5, 0)]));
        Assert.Throws<ArgumentException>(() => BgNbdModel.Fit([new RfmObservation(-1, 0, 5, 0)]));
    }

    private static double IntegratedExpectedPurchases(BgNbdParameters p, double t, RfmObservation c)
    {
        double x = c.Frequency, k = p.R + x, alphaT = p.Alpha + c.Age;
        double deadWeight = x > 0 ? Math.Pow(alphaT / (p.Alpha + c.Recency), k) : 0.0;

        // p = u^(1/a) turns the Beta density's p^(a−1) dp into du / a, removing the endpoint singularity when a < 1;
        // the common factors 1/a, 1/B(a, b), Γ(r + x)α^r/Γ(r) and (α + T)^(−(r + x)) cancel in the ratio.
        double Numerator(double u)
        {
            double q = Math.Pow(u, 1.0 / p.A);
            if (q <= 0)
            {
                return 0.0;
            }

            double future = -double.ExpM1(k * Math.Log(alphaT / (alphaT + (q * t)))) / q;
            return future * Math.Pow(1 - q, x + p.B - 1);
        }

        double Denominator(double u)
        {
            double q = Math.Pow(u, 1.0 / p.A);
            double alive = Math.Pow(1 - q, x + p.B - 1);
            double dropped = x > 0 ? q * Math.Pow(1 - q, x + p.B - 2) * deadWeight : 0.0;
            return alive + dropped;
        }

        return Composite(Numerator) / Composite(Denominator);
    }

    private static double Composite(Func<double, double> f)
    {
        const int Panels = 64;
        double sum = 0;
        for (int i = 0; i < Panels; i++)
        {
            sum += GaussLegendreRule.Integrate(f, (double)i / Panels, (double)(i + 1) / Panels, 32);
        }

        return sum;
    }

    private static void AssertWithinRelative(double expected, double actual, double tolerance) =>
        Assert.True(
            Math.Abs(actual - expected) <= tolerance * Math.Abs(expected),
            string.Create(CultureInfo.InvariantCulture, $"expected {expected} ± {tolerance:P3}, got {actual}"));
}
