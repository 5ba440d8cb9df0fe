using static MathNet.Numerics.SpecialFunctions;

namespace OrleansCrm.Models.Ltv;

/// <summary>
/// The BG/NBD model of repeat buying (Fader, Hardie &amp; Lee 2005, "Counting your customers the easy way"). While alive a
/// customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each purchase they drop out for good with
/// probability p ~ Beta(a, b). Chosen over Pareto/NBD because its likelihood needs only log-gamma functions, so it fits
/// quickly and robustly on a silo, while forecasting about as well.
/// </summary>
public static class BgNbdModel
{
    /// <summary>
    /// Fits r, α, a and b by maximum likelihood. Customers with identical (x, t_x, T) contribute identical terms, so they
    /// are collapsed into weighted rows first; in a real cohort most customers never return (x = 0) and share a handful
    /// of ages, which cuts the work per likelihood evaluation severalfold.
    /// </summary>
    /// <exception cref="ArgumentException">The data are empty or a row is impossible (negative, or t_x &gt; T).</exception>
    public static BgNbdParameters Fit(IReadOnlyList<RfmObservation> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0)
        {
            throw new ArgumentException("At least one customer is needed to fit the model.", nameof(data));
        }

        foreach (var customer in data)
        {
            Validate(customer, nameof(data));
        }

        var rows = data
            .GroupBy(c => (c.Frequency, c.Recency, c.Age))
            .Select(g => new WeightedRow(g.Key.Frequency, g.Key.Recency, g.Key.Age, g.Count()))
            .ToArray();
        int n = data.Count;

        // Starting from ones is far from the CDNOW answer yet converges reliably; the log-parameterisation makes the
        // distance cheap to cover.
        var fitted = LogSpaceOptimizer.Minimize(
            q => -LogLikelihood(rows, q[0], q[1], q[2], q[3]) / n,
            [1.0, 1.0, 1.0, 1.0]);

        double r = fitted[0], alpha = fitted[1], a = fitted[2], b = fitted[3];
        return new BgNbdParameters(r, alpha, a, b, LogLikelihood(rows, r, alpha, a, b));
    }

    /// <summary>
    /// Total log-likelihood of <paramref name="data"/> under <paramref name="parameters"/> (whose own LogLikelihood is
    /// ignored). Public so that a stored model can be scored against fresh data before it is replaced.
    /// </summary>
    public static double LogLikelihood(BgNbdParameters parameters, IReadOnlyList<RfmObservation> data)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(data);
        var rows = data.Select(c => new WeightedRow(c.Frequency, c.Recency, c.Age, 1)).ToArray();
        return LogLikelihood(rows, parameters.R, parameters.Alpha, parameters.A, parameters.B);
    }

    /// <summary>
    /// Expected number of purchases in the next <paramref name="t"/> periods for a customer with this history (equation
    /// 10 of the paper). With x = 0, t_x = 0 and T = 0 it reduces to the unconditional E[X(t)] of a newly acquired
    /// customer, which is how to forecast for someone with no history yet.
    /// </summary>
    /// <remarks>
    /// The closed form divides by a − 1; at a = 1 exactly the expression is a removable singularity, so it is evaluated
    /// as the mean of a ± 1e-6, which is far inside the accuracy of any fitted a.
    /// </remarks>
    public static double ExpectedPurchases(BgNbdParameters p, double t, RfmObservation customer)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(customer);
        Validate(customer, nameof(customer));
        if (!(t >= 0) || double.IsPositiveInfinity(t))
        {
            throw new ArgumentOutOfRangeException(nameof(t), t, "The horizon must be finite and non-negative.");
        }

        if (t == 0)
        {
            return 0;
        }

        const double Nudge = 1e-6;
        if (Math.Abs(p.A - 1.0) < Nudge)
        {
            return 0.5 * (ExpectedPurchases(p.R, p.Alpha, 1.0 - Nudge, p.B, t, customer)
                + ExpectedPurchases(p.R, p.Alpha, 1.0 + Nudge, p.B, t, customer));
        }

        return ExpectedPurchases(p.R, p.Alpha, p.A, p.B, t, customer);
    }

    /// <summary>
    /// Probability that the customer has not yet dropped out at the end of their observation window (T). Someone with
    /// no repeat purchase is certainly alive in this model, because drop-out can only happen right after a purchase.
    /// </summary>
    public static double ProbabilityAlive(BgNbdParameters p, RfmObservation customer)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentNullException.ThrowIfNull(customer);
        Validate(customer, nameof(customer));
        return 1.0 / DeadOddsPlusOne(p.R, p.Alpha, p.A, p.B, customer);
    }

    private static double ExpectedPurchases(double r, double alpha, double a, double b, double t, RfmObservation customer)
    {
        double x = customer.Frequency;
        double k = r + x;
        double alphaT = alpha + customer.Age;
        double z = t / (alphaT + t);
        double survivor = Math.Exp(k * Math.Log(alphaT / (alphaT + t)));
        double hyp = Hypergeometric.Hyp2F1(k, b + x, a + b + x - 1.0, z);
        double numerator = (a + b + x - 1.0) / (a - 1.0) * (1.0 - (survivor * hyp));
        return numerator / DeadOddsPlusOne(r, alpha, a, b, customer);
    }

    /// <summary>
    /// 1 + P(dropped out at the last purchase) / P(alive at T), the denominator shared by P(alive) and the conditional
    /// expectation. The power is taken through logs so that large x with T ≫ t_x cannot overflow before the ratio is formed.
    /// </summary>
    private static double DeadOddsPlusOne(double r, double alpha, double a, double b, RfmObservation customer)
    {
        double x = customer.Frequency;
        if (x <= 0)
        {
            return 1.0;
        }

        double logOdds = Math.Log(a) - Math.Log(b + x - 1.0)
            + ((r + x) * (Math.Log(alpha + customer.Age) - Math.Log(alpha + customer.Recency)));
        return 1.0 + Math.Exp(logOdds);
    }

    /// <summary>
    /// Equation 6 of the paper in log form. The likelihood is a sum of "alive at T" and (for x &gt; 0) "dropped out right
    /// after the last purchase" terms; each can underflow on its own for heavy buyers, so they are combined with
    /// log-sum-exp rather than exponentiated.
    /// </summary>
    private static double LogLikelihood(WeightedRow[] rows, double r, double alpha, double a, double b)
    {
        double logAlpha = Math.Log(alpha);
        double lnGammaR = GammaLn(r);
        double lnBetaAB = GammaLn(a) + GammaLn(b) - GammaLn(a + b);
        double logA = Math.Log(a);
        double total = 0;
        foreach (var row in rows)
        {
            double x = row.Frequency;
            double k = r + x;
            double common = GammaLn(k) - lnGammaR + (r * logAlpha)
                + GammaLn(a) + GammaLn(b + x) - GammaLn(a + b + x) - lnBetaAB;
            double alive = -k * Math.Log(alpha + row.Age);
            double term;
            if (x > 0)
            {
                // B(a + 1, b + x − 1) / B(a, b + x) = a / (b + x − 1), which lets both branches share `common`.
                double dropped = logA - Math.Log(b + x - 1.0) - (k * Math.Log(alpha + row.Recency));
                double max = Math.Max(alive, dropped);
                term = max + Math.Log(Math.Exp(alive - max) + Math.Exp(dropped - max));
            }
            else
            {
                term = alive;
            }

            total += row.Count * (common + term);
        }

        return total;
    }

    private static void Validate(RfmObservation customer, string paramName)
    {
        if (customer is null)
        {
            throw new ArgumentException("Customer rows must not be null.", paramName);
        }

        if (!(customer.Frequency >= 0) || !(customer.Recency >= 0) || !(customer.Age >= customer.Recency)
            || !double.IsFinite(customer.Frequency) || !double.IsFinite(customer.Age))
        {
            throw new ArgumentException(
                "Each customer needs finite Frequency ≥ 0 and 0 ≤ Recency ≤ Age.", paramName);
        }
    }

    private readonly record struct WeightedRow(double Frequency, double Recency, double Age, int Count);
}
