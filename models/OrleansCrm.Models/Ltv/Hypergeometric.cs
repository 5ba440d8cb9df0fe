using System.Globalization;

namespace OrleansCrm.Models.Ltv;

/// <summary>
/// Gaussian hypergeometric function 2F1, needed by the BG/NBD conditional expectation. MathNet.Numerics has no 2F1, and
/// the BG/NBD arguments always have 0 ≤ z &lt; 1 with positive a and b, so the plain power series is enough and keeps the
/// dependency surface small.
/// </summary>
internal static class Hypergeometric
{
    private const double RelativeTolerance = 1e-15;

    /// <summary>
    /// Enough for z up to about 0.9999 (horizons of roughly 10⁴ times α + T); beyond that the series is not worth
    /// summing and a silent truncation would understate expected purchases, so it throws instead.
    /// </summary>
    private const int MaxTerms = 2_000_000;

    /// <summary>
    /// Sums 2F1(a, b; c; z) = Σ (a)ₙ(b)ₙ / ((c)ₙ n!) zⁿ. The series stops only once the current term, times the geometric
    /// bound 1 / (1 − ratio) on what follows, is below the tolerance relative to the sum: stopping on a small term alone
    /// would be premature while the term ratio is still above one (early terms can grow before they shrink).
    /// </summary>
    public static double Hyp2F1(double a, double b, double c, double z)
    {
        if (!(Math.Abs(z) < 1.0))
        {
            throw new ArgumentOutOfRangeException(nameof(z), z, "The 2F1 power series only converges for |z| < 1.");
        }

        if (c <= 0 && c == Math.Floor(c))
        {
            throw new ArgumentOutOfRangeException(nameof(c), c, "2F1 has a pole when c is zero or a negative integer.");
        }

        double sum = 1.0;
        double term = 1.0;
        for (int n = 0; n < MaxTerms; n++)
        {
            double ratio = (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
            term *= ratio;
            sum += term;
            if (term == 0.0)
            {
                return sum;
            }

            double absRatio = Math.Abs(ratio);
            if (absRatio < 1.0 && Math.Abs(term) / (1.0 - absRatio) <= RelativeTolerance * Math.Abs(sum))
            {
                return sum;
            }
        }

        throw new ArithmeticException(string.Create(
            CultureInfo.InvariantCulture, $"2F1({a}, {b}; {c}; {z}) did not converge in {MaxTerms} terms."));
    }
}
