namespace OrleansCrm.Models.Classifiers;

/// <summary>
/// Area under the ROC curve, computed as the Mann–Whitney statistic with tied scores sharing their average rank. Kept
/// independent of ML.NET so that the scorecard's own predictions can be judged without the runtime it was fitted in.
/// </summary>
public static class RocAuc
{
    /// <summary>
    /// The probability that a random positive scores above a random negative (ties count half); NaN when either class
    /// is absent, because the figure is then undefined rather than 0 or 1.
    /// </summary>
    public static double Compute(IReadOnlyList<(double Score, bool Label)> scored)
    {
        ArgumentNullException.ThrowIfNull(scored);
        var ordered = scored.OrderBy(s => s.Score).ToArray();
        double positives = 0, rankSum = 0;
        var i = 0;
        while (i < ordered.Length)
        {
            var j = i;
            while (j + 1 < ordered.Length && ordered[j + 1].Score.Equals(ordered[i].Score))
            {
                j++;
            }

            var averageRank = (i + j + 2) / 2.0;
            for (var k = i; k <= j; k++)
            {
                if (ordered[k].Label)
                {
                    positives++;
                    rankSum += averageRank;
                }
            }

            i = j + 1;
        }

        var negatives = ordered.Length - positives;
        return positives == 0 || negatives == 0
            ? double.NaN
            : (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
    }
}
