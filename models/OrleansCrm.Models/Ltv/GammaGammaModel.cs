using static MathNet.Numerics.SpecialFunctions;

namespace OrleansCrm.Models.Ltv;

/// <summary>
/// The Gamma-Gamma model of monetary value (Fader &amp; Hardie, note 025). Each transaction value is Gamma(p, ν) around a
/// customer's own mean, and ν ~ Gamma(q, v) across customers, so a customer's observed mean spend is shrunk toward the
/// population mean in proportion to how few transactions it rests on. It assumes spend is independent of purchase
/// frequency, which is what allows it to be multiplied by the BG/NBD forecast.
/// </summary>
public static class GammaGammaModel
{
    /// <summary>
    /// Fits p, q and v by maximum likelihood on the customers with at least one repeat purchase and a positive mean
    /// spend; others carry no information about spend per repeat transaction and are skipped rather than rejected, so
    /// the same cohort list can be passed to both models.
    /// </summary>
    /// <exception cref="ArgumentException">No customer has x ≥ 1 and a positive mean spend.</exception>
    public static GammaGammaParameters Fit(IReadOnlyList<RfmObservation> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var rows = data
            .Where(c => c is not null && c.Frequency >= 1 && c.MeanSpend > 0
                && double.IsFinite(c.Frequency) && double.IsFinite(c.MeanSpend))
            .Select(c => (X: c.Frequency, LogX: Math.Log(c.Frequency), MeanSpend: c.MeanSpend,
                LogMeanSpend: Math.Log(c.MeanSpend)))
            .ToArray();
        if (rows.Length == 0)
        {
            throw new ArgumentException(
                "Gamma-Gamma needs customers with at least one repeat purchase and a positive mean spend.", nameof(data));
        }

        // v is a spend scale, so it starts at the average observed mean rather than 1; p and q are shapes.
        double meanSpend = rows.Average(row => row.MeanSpend);
        var fitted = LogSpaceOptimizer.Minimize(
            theta =>
            {
                double p = theta[0], q = theta[1], v = theta[2];
                double qLogV = q * Math.Log(v);
                double lnGammaQ = GammaLn(q);
                double total = 0;
                foreach (var row in rows)
                {
                    // Density of the mean of x transactions (note 025, equation 4) in log form.
                    double px = p * row.X;
                    total += GammaLn(px + q) - GammaLn(px) - lnGammaQ + qLogV
                        + (px * row.LogX) + ((px - 1.0) * row.LogMeanSpend)
                        - ((px + q) * Math.Log(v + (row.X * row.MeanSpend)));
                }

                return -total / rows.Length;
            },
            [1.0, 1.0, meanSpend]);

        return new GammaGammaParameters(fitted[0], fitted[1], fitted[2]);
    }

    /// <summary>
    /// Expected spend per transaction for a customer with <paramref name="x"/> repeat purchases averaging
    /// <paramref name="mx"/>: a weighted average of the population mean p·v/(q − 1) and the observed mean, with weight
    /// p·x/(p·x + q − 1) on the latter. For x = 0 it is the population mean, the right figure for a customer with no
    /// spend history.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// The expectation is infinite: q ≤ 1 for a customer without repeat purchases (the population mean does not exist).
    /// </exception>
    public static double ExpectedAverageSpend(GammaGammaParameters p, int x, double mx)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentOutOfRangeException.ThrowIfNegative(x);
        if (x > 0 && !(mx >= 0 && double.IsFinite(mx)))
        {
            throw new ArgumentOutOfRangeException(nameof(mx), mx, "Mean spend must be finite and non-negative.");
        }

        double observed = x > 0 ? mx : 0.0;
        double denominator = (p.P * x) + p.Q - 1.0;
        if (!(denominator > 0))
        {
            throw new ArgumentOutOfRangeException(
                nameof(p), "The expected spend is infinite because p·x + q ≤ 1 (q ≤ 1 with no repeat purchases).");
        }

        return p.P * (p.V + (x * observed)) / denominator;
    }
}
