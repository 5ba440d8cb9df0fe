using System.Globalization;

namespace OrleansCrm.Scoring;

/// <summary>
/// A trained binary classifier in portable form: a logistic regression over standardised numeric features and
/// one-hot categorical ones. Scoring is a dot product (microseconds, no ML runtime in the grain), and each feature's
/// contribution to the log-odds is the reason shown to the agent.
/// </summary>
[GenerateSerializer, Immutable, Alias("crm.Scorecard")]
public sealed record Scorecard(
    string Name,
    int Version,
    double Intercept,
    NumericFeature[] Numeric,
    CategoricalFeature[] Categorical,
    DateTimeOffset TrainedAt,
    int TrainingRows,
    double HoldoutAuc)
{
    /// <summary>Probability of the positive class and the features that pushed it most, strongest first.</summary>
    public ScoreResult Score(IReadOnlyDictionary<string, string> features, int reasons = 3)
    {
        var logit = Intercept;
        var contributions = new List<(string Reason, double Value)>(Numeric.Length + Categorical.Length);
        foreach (var f in Numeric)
        {
            // Missing, unreadable or non-finite values count as the training mean: they contribute nothing.
            if (!features.TryGetValue(f.Name, out var text) || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) || !double.IsFinite(x))
            {
                continue;
            }

            var c = f.Weight * (x - f.Mean) / (f.Scale == 0 ? 1 : f.Scale);
            logit += c;
            contributions.Add(($"{f.Label} = {x.ToString("0.##", CultureInfo.InvariantCulture)}", c));
        }

        foreach (var f in Categorical)
        {
            // Training trims categorical values; so does scoring.
            if (features.TryGetValue(f.Name, out var raw) && raw?.Trim() is { } value && f.Weights.TryGetValue(value, out var w))
            {
                logit += w;
                contributions.Add(($"{f.Label}: {value}", w));
            }
        }

        var probability = 1 / (1 + Math.Exp(-logit));
        var top = contributions.OrderByDescending(c => Math.Abs(c.Value)).Take(reasons)
            .Select(c => new ScoreReason(c.Reason, c.Value > 0 ? "raises" : "lowers", Math.Round(c.Value, 3)))
            .ToArray();
        return new ScoreResult(probability, top);
    }
}

/// <summary>contribution = Weight × (x − Mean) / Scale; a missing value contributes nothing (x = Mean).</summary>
[GenerateSerializer, Immutable, Alias("crm.NumericFeature")]
public sealed record NumericFeature(string Name, string Label, double Mean, double Scale, double Weight);

/// <summary>contribution = Weights[value]; an unseen or missing value contributes nothing.</summary>
[GenerateSerializer, Immutable, Alias("crm.CategoricalFeature")]
public sealed record CategoricalFeature(string Name, string Label, Dictionary<string, double> Weights);

[GenerateSerializer, Immutable, Alias("crm.ScoreResult")]
public sealed record ScoreResult(double Probability, ScoreReason[] Reasons);

[GenerateSerializer, Immutable, Alias("crm.ScoreReason")]
public sealed record ScoreReason(string Factor, string Direction, double Weight);
