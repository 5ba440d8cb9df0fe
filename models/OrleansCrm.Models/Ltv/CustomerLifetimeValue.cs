namespace OrleansCrm.Models.Ltv;

/// <summary>
/// Combines the BG/NBD purchase forecast with the Gamma-Gamma spend forecast. The product is valid because Gamma-Gamma
/// assumes spend is independent of purchase frequency; the result is revenue, so multiply by a margin for profit.
/// </summary>
public static class CustomerLifetimeValue
{
    /// <summary>
    /// Expected revenue from <paramref name="customer"/> over the next <paramref name="horizon"/> periods (in the time
    /// unit the BG/NBD model was fitted in).
    /// </summary>
    /// <param name="bgNbd">Fitted purchase model.</param>
    /// <param name="gammaGamma">Fitted spend model.</param>
    /// <param name="customer">History; <see cref="RfmObservation.Frequency"/> is rounded to whole repeat purchases for the spend model.</param>
    /// <param name="horizon">Forecast length, ≥ 0.</param>
    /// <param name="discountRatePerPeriod">
    /// Interest rate per time unit (e.g. weekly for CDNOW). Zero gives the plain undiscounted product. Otherwise the
    /// horizon is cut into unit periods (the last possibly partial), the expected purchases falling in period k are
    /// taken as E[Y(k)] − E[Y(k − 1)], and they are discounted by (1 + d)^k as if paid at the end of that period. This
    /// end-of-period convention slightly understates value but needs only one conditional expectation per period.
    /// </param>
    public static double Predict(
        BgNbdParameters bgNbd,
        GammaGammaParameters gammaGamma,
        RfmObservation customer,
        double horizon,
        double discountRatePerPeriod = 0.0)
    {
        ArgumentNullException.ThrowIfNull(bgNbd);
        ArgumentNullException.ThrowIfNull(gammaGamma);
        ArgumentNullException.ThrowIfNull(customer);
        if (!(horizon >= 0) || double.IsPositiveInfinity(horizon))
        {
            throw new ArgumentOutOfRangeException(nameof(horizon), horizon, "The horizon must be finite and non-negative.");
        }

        if (!(discountRatePerPeriod >= 0) || double.IsPositiveInfinity(discountRatePerPeriod))
        {
            throw new ArgumentOutOfRangeException(
                nameof(discountRatePerPeriod), discountRatePerPeriod, "The discount rate must be finite and non-negative.");
        }

        int repeatPurchases = (int)Math.Round(customer.Frequency, MidpointRounding.AwayFromZero);
        double spend = GammaGammaModel.ExpectedAverageSpend(gammaGamma, repeatPurchases, customer.MeanSpend);

        if (discountRatePerPeriod == 0)
        {
            return BgNbdModel.ExpectedPurchases(bgNbd, horizon, customer) * spend;
        }

        double discountedPurchases = 0;
        double previous = 0;
        int periods = (int)Math.Ceiling(horizon);
        for (int k = 1; k <= periods; k++)
        {
            double cumulative = BgNbdModel.ExpectedPurchases(bgNbd, Math.Min(k, horizon), customer);
            discountedPurchases += (cumulative - previous) / Math.Pow(1.0 + discountRatePerPeriod, k);
            previous = cumulative;
        }

        return discountedPurchases * spend;
    }
}
