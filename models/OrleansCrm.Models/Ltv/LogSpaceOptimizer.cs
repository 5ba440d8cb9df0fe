using MathNet.Numerics.LinearAlgebra;
using MathNet.Numerics.Optimization;

namespace OrleansCrm.Models.Ltv;

/// <summary>
/// Shared maximum-likelihood driver for the LTV models. Every parameter of BG/NBD and Gamma-Gamma must be strictly
/// positive, so the search runs over their logarithms: the optimiser is then unconstrained and cannot step into a region
/// where the log-gamma terms are undefined.
/// </summary>
internal static class LogSpaceOptimizer
{
    /// <summary>
    /// Stand-in for an undefined likelihood. Finite rather than infinite so that the simplex arithmetic (centroids,
    /// relative spreads) stays well defined while the point is still rejected.
    /// </summary>
    private const double Rejected = 1e100;

    /// <summary>Log-parameters beyond ±MaxLog (e^30 ≈ 10¹³) mean the fit is running away, not converging.</summary>
    private const double MaxLog = 30.0;

    private const double ConvergenceTolerance = 1e-12;
    private const int MaxIterationsPerRun = 20_000;

    /// <summary>
    /// Nelder-Mead can stop on a collapsed simplex short of the optimum, so the search is restarted from its own answer
    /// with a fresh simplex until a restart no longer improves the objective; this is the usual remedy and costs little.
    /// </summary>
    private const int MaxRestarts = 6;

    /// <summary>
    /// Minimises <paramref name="negativeMeanLogLikelihood"/> (a function of the positive parameters, not their logs)
    /// from <paramref name="initial"/> and returns the positive parameters at the minimum. Using the mean rather than
    /// the sum keeps the relative convergence tolerance independent of the number of customers.
    /// </summary>
    public static double[] Minimize(Func<double[], double> negativeMeanLogLikelihood, double[] initial)
    {
        double Evaluate(Vector<double> theta)
        {
            var parameters = new double[theta.Count];
            for (int i = 0; i < theta.Count; i++)
            {
                if (!(Math.Abs(theta[i]) <= MaxLog))
                {
                    return Rejected;
                }

                parameters[i] = Math.Exp(theta[i]);
            }

            double value = negativeMeanLogLikelihood(parameters);
            return double.IsFinite(value) ? value : Rejected;
        }

        var objective = ObjectiveFunction.Value(Evaluate);

        var solver = new NelderMeadSimplex(ConvergenceTolerance, MaxIterationsPerRun);
        var point = Vector<double>.Build.DenseOfEnumerable(initial.Select(x => Math.Log(x)));
        double best = Evaluate(point);
        for (int restart = 0; restart < MaxRestarts; restart++)
        {
            var result = solver.FindMinimum(objective, point, Vector<double>.Build.Dense(point.Count, 0.5));
            double value = result.FunctionInfoAtMinimum.Value;
            bool improved = value < best - (Math.Abs(best) * 1e-13);
            if (value <= best)
            {
                point = result.MinimizingPoint;
                best = value;
            }

            if (!improved && restart > 0)
            {
                break;
            }
        }

        if (best >= Rejected)
        {
            throw new InvalidOperationException("The likelihood is undefined everywhere the optimiser looked; check the data.");
        }

        return point.Select(x => Math.Exp(x)).ToArray();
    }
}
