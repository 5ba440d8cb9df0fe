namespace OrleansCrm.Decisions;

/// <summary>
/// Evaluates fitted lifetime-value models for one customer (the fitting runs in the models project).
/// BG/NBD conditional expectation (Fader, Hardie &amp; Lee 2005, eq. 10) and the Gamma-Gamma expected average spend
/// (Fader &amp; Hardie, note 025). Time in weeks.
/// </summary>
public static class Ltv
{
    /// <summary>Expected purchases in the next <paramref name="t"/> weeks for a customer with <paramref name="x"/>
    /// repeat purchases, the last at <paramref name="tx"/> weeks after the first, observed for <paramref name="age"/> weeks.</summary>
    public static double ExpectedPurchases(LtvParameters p, double t, double x, double tx, double age)
    {
        var (r, alpha, a, b) = (p.R, p.Alpha, p.A, p.B);
        var z = t / (alpha + age + t);
        var head = (a + b + x - 1) / (a - 1);
        var tail = 1 - (Math.Pow((alpha + age) / (alpha + age + t), r + x) * Hypergeometric2F1(r + x, b + x, a + b + x - 1, z));
        var denominator = 1 + (x > 0 ? a / (b + x - 1) * Math.Pow((alpha + age) / (alpha + tx), r + x) : 0);
        return head * tail / denominator;
    }

    /// <summary>Expected spend per future transaction given <paramref name="x"/> repeat purchases of mean <paramref name="meanSpend"/>.</summary>
    public static double ExpectedSpend(LtvParameters p, double x, double meanSpend) =>
        p.P * (p.V + (x * meanSpend)) / ((p.P * x) + p.Q - 1);

    /// <summary>Gauss's hypergeometric series, summed until terms stop mattering (|z| &lt; 1 here).</summary>
    public static double Hypergeometric2F1(double a, double b, double c, double z)
    {
        double sum = 1, term = 1;
        for (var j = 0; j < 10_000; j++)
        {
            term *= (a + j) * (b + j) / ((c + j) * (j + 1)) * z;
            sum += term;
            if (Math.Abs(term) < 1e-12 * Math.Abs(sum))
            {
                break;
            }
        }

        return sum;
    }
}
