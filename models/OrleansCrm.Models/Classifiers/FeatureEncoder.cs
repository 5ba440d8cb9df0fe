using System.Globalization;

namespace OrleansCrm.Models.Classifiers;

/// <summary>
/// Turns raw text features into the vector the logistic regression is fitted on, using exactly the conventions of
/// <see cref="Scoring.Scorecard"/>: numerics are standardised with the training mean and standard deviation (so a
/// missing value, imputed with the mean, becomes 0 and contributes nothing), categoricals are one-hot with one column
/// per level seen in training (so an unseen or blank value is all zeros and contributes nothing). Keeping the two in
/// lockstep is what lets the fitted weights be copied into the scorecard unchanged.
/// </summary>
internal sealed class FeatureEncoder
{
    private FeatureEncoder(IReadOnlyList<NumericColumn> numeric, IReadOnlyList<CategoricalColumn> categorical,
        int width, IReadOnlyList<DroppedFeature> dropped)
    {
        Numeric = numeric;
        Categorical = categorical;
        Width = width;
        Dropped = dropped;
    }

    public IReadOnlyList<NumericColumn> Numeric { get; }

    public IReadOnlyList<CategoricalColumn> Categorical { get; }

    /// <summary>Length of the encoded vector.</summary>
    public int Width { get; }

    public IReadOnlyList<DroppedFeature> Dropped { get; }

    /// <summary>
    /// Decides each feature's type from all rows (typing looks at no label, so it cannot leak), but learns means,
    /// scales and levels from the training rows only, so that the holdout stays unseen.
    /// </summary>
    public static FeatureEncoder Fit(IReadOnlyList<string> names, IReadOnlyList<TrainingRow> allRows,
        IReadOnlyList<TrainingRow> trainRows)
    {
        var numeric = new List<NumericColumn>();
        var categorical = new List<CategoricalColumn>();
        var dropped = new List<DroppedFeature>();
        var offset = 0;
        foreach (var name in names)
        {
            if (IsNumeric(name, allRows))
            {
                var values = new List<double>(trainRows.Count);
                foreach (var row in trainRows)
                {
                    if (TryParseNumber(Raw(row, name), out var v))
                    {
                        values.Add(v);
                    }
                }

                if (values.Count == 0)
                {
                    dropped.Add(new DroppedFeature(name, "no numeric value in the training rows"));
                    continue;
                }

                var mean = values.Average();
                var variance = values.Sum(v => (v - mean) * (v - mean)) / values.Count;
                var std = Math.Sqrt(variance);
                if (!(std > 1e-12 * Math.Max(1, Math.Abs(mean))))
                {
                    dropped.Add(new DroppedFeature(name, "constant"));
                    continue;
                }

                numeric.Add(new NumericColumn(name, mean, std, offset));
                offset++;
            }
            else
            {
                var counts = new Dictionary<string, int>(StringComparer.Ordinal);
                var blanks = 0;
                foreach (var row in trainRows)
                {
                    var text = Raw(row, name);
                    if (string.IsNullOrWhiteSpace(text))
                    {
                        blanks++;
                        continue;
                    }

                    var level = text.Trim();
                    counts[level] = counts.GetValueOrDefault(level) + 1;
                }

                if (counts.Count + (blanks > 0 ? 1 : 0) <= 1)
                {
                    dropped.Add(new DroppedFeature(name, "constant"));
                    continue;
                }

                if (blanks == 0 && counts.Count == trainRows.Count)
                {
                    dropped.Add(new DroppedFeature(name, "looks like an identifier (a distinct value on every row)"));
                    continue;
                }

                var levels = counts.Keys.Order(StringComparer.Ordinal).ToArray();
                categorical.Add(new CategoricalColumn(name, levels, offset));
                offset += levels.Length;
            }
        }

        return new FeatureEncoder(numeric, categorical, offset, dropped);
    }

    /// <summary>Encodes one row; must mirror <see cref="Scoring.Scorecard.Score"/> for the export to be exact.</summary>
    public float[] Encode(IReadOnlyDictionary<string, string> features)
    {
        var vector = new float[Width];
        foreach (var column in Numeric)
        {
            if (features.TryGetValue(column.Name, out var text) && TryParseNumber(text, out var x))
            {
                vector[column.Offset] = (float)((x - column.Mean) / column.Scale);
            }
        }

        foreach (var column in Categorical)
        {
            if (features.TryGetValue(column.Name, out var text) && !string.IsNullOrWhiteSpace(text))
            {
                var index = Array.BinarySearch(column.Levels, text.Trim(), StringComparer.Ordinal);
                if (index >= 0)
                {
                    vector[column.Offset + index] = 1f;
                }
            }
        }

        return vector;
    }

    /// <summary>Same parse as the scorecard uses, so a value counts as numeric in both places or in neither.</summary>
    private static bool TryParseNumber(string? text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private static string? Raw(TrainingRow row, string name) => row.Features.TryGetValue(name, out var text) ? text : null;

    private static bool IsNumeric(string name, IReadOnlyList<TrainingRow> rows)
    {
        foreach (var row in rows)
        {
            var text = Raw(row, name);
            if (!string.IsNullOrWhiteSpace(text)
                && !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A standardised numeric feature occupying one slot of the vector.</summary>
    internal sealed record NumericColumn(string Name, double Mean, double Scale, int Offset);

    /// <summary>A one-hot feature occupying <c>Levels.Length</c> slots; levels are sorted for binary search.</summary>
    internal sealed record CategoricalColumn(string Name, string[] Levels, int Offset);
}
