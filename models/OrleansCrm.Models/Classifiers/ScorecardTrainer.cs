using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using OrleansCrm.Scoring;

namespace OrleansCrm.Models.Classifiers;

/// <summary>
/// Fits an L2-penalised logistic regression with ML.NET and exports it as a <see cref="Scorecard"/>, the portable form
/// grains evaluate without any ML runtime. ML.NET does the optimisation; everything around it (typing, standardising,
/// one-hot encoding, the split) is done here so that the encoding is exactly the one the scorecard applies at run time.
/// </summary>
public static class ScorecardTrainer
{
    /// <summary>
    /// Trains on a stratified share of <paramref name="rows"/>, exports the scorecard and measures it on the rest.
    /// </summary>
    /// <param name="name">Scorecard name, e.g. "churn".</param>
    /// <param name="rows">Labelled rows; feature values are raw text as grains will see them.</param>
    /// <param name="options">Seed, holdout share, feature selection, labels and penalty.</param>
    /// <exception cref="ArgumentException">No rows, a single class, or a holdout share outside [0, 1).</exception>
    /// <exception cref="InvalidOperationException">Every feature was dropped (constant or identifier).</exception>
    public static TrainingResult Train(string name, IReadOnlyList<TrainingRow> rows, TrainerOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(options);
        if (options.HoldoutFraction is < 0 or >= 1 || double.IsNaN(options.HoldoutFraction))
        {
            throw new ArgumentException("The holdout fraction must lie in [0, 1).", nameof(options));
        }

        if (!rows.Any(r => r.Label) || rows.All(r => r.Label))
        {
            throw new ArgumentException("Training needs rows of both classes.", nameof(rows));
        }

        var (train, test) = StratifiedSplit(rows, options.HoldoutFraction, options.Seed);
        var encoder = FeatureEncoder.Fit(SelectFeatures(rows, options), rows, train);
        if (encoder.Width == 0)
        {
            throw new InvalidOperationException(
                $"No usable feature: {string.Join(", ", encoder.Dropped.Select(d => $"{d.Name} ({d.Reason})"))}.");
        }

        var ml = new MLContext(options.Seed);
        var schema = SchemaDefinition.Create(typeof(EncodedRow));
        schema[nameof(EncodedRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, encoder.Width);
        var trainer = ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
        {
            LabelColumnName = nameof(EncodedRow.Label),
            FeatureColumnName = nameof(EncodedRow.Features),
            L2Regularization = options.L2Regularization,
            L1Regularization = 0,
            OptimizationTolerance = 1e-8f,
            // One thread: the data sets are small and a fixed reduction order keeps retrains bit-for-bit repeatable.
            NumberOfThreads = 1,
        });
        var model = trainer.Fit(ml.Data.LoadFromEnumerable(Encode(encoder, train), schema));

        var scorecard = Export(name, model.Model, encoder, options, train.Count);
        var holdout = Array.Empty<HoldoutPrediction>();
        var mlAuc = double.NaN;
        if (test.Count > 0)
        {
            var scored = model.Transform(ml.Data.LoadFromEnumerable(Encode(encoder, test), schema));
            var mlProbabilities = ml.Data.CreateEnumerable<ScoredRow>(scored, reuseRowObject: false)
                .Select(p => (double)p.Probability).ToArray();
            holdout = test.Select((row, i) => new HoldoutPrediction(row, scorecard.Score(row.Features, 0).Probability,
                mlProbabilities[i])).ToArray();
            if (test.Any(r => r.Label) && !test.All(r => r.Label))
            {
                mlAuc = ml.BinaryClassification.Evaluate(scored, nameof(EncodedRow.Label)).AreaUnderRocCurve;
            }
        }

        var auc = RocAuc.Compute(holdout.Select(h => (h.ScorecardProbability, h.Row.Label)).ToArray());
        return new TrainingResult(scorecard with { HoldoutAuc = auc }, auc, train.Count, test.Count)
        {
            MlNetHoldoutAuc = mlAuc,
            Holdout = holdout,
            Dropped = encoder.Dropped,
        };
    }

    /// <summary>
    /// Copies the fitted weights into scorecard form. The calibrator is folded in (for L-BFGS it is the identity
    /// sigmoid, slope −1 and offset 0) so that the scorecard's sigmoid reproduces ML.NET's probability exactly.
    /// </summary>
    private static Scorecard Export(string name, CalibratedModelParametersBase<LinearBinaryModelParameters, PlattCalibrator> model,
        FeatureEncoder encoder, TrainerOptions options, int trainRows)
    {
        // Platt: p = 1 / (1 + exp(a·s + b)) with s = w·z + bias, so the log-odds are −a·w·z − a·bias − b.
        var a = model.Calibrator.Slope;
        var b = model.Calibrator.Offset;
        var weights = model.SubModel.Weights;
        string Label(string feature) => options.FeatureLabels?.GetValueOrDefault(feature) ?? feature;

        var numeric = encoder.Numeric
            .Select(c => new NumericFeature(c.Name, Label(c.Name), c.Mean, c.Scale, -a * weights[c.Offset]))
            .ToArray();
        var categorical = encoder.Categorical
            .Select(c => new CategoricalFeature(c.Name, Label(c.Name),
                c.Levels.Select((level, i) => (level, weight: -a * weights[c.Offset + i]))
                    .ToDictionary(t => t.level, t => t.weight, StringComparer.Ordinal)))
            .ToArray();
        var trainedAt = (options.Clock ?? TimeProvider.System).GetUtcNow();
        return new Scorecard(name, options.Version, -a * model.SubModel.Bias - b, numeric, categorical, trainedAt,
            trainRows, double.NaN);
    }

    private static List<string> SelectFeatures(IReadOnlyList<TrainingRow> rows, TrainerOptions options)
    {
        var excluded = new HashSet<string>(options.ExcludedFeatures ?? [], StringComparer.Ordinal);
        IEnumerable<string> names = options.Features ?? rows.SelectMany(r => r.Features.Keys);
        return names.Distinct(StringComparer.Ordinal).Where(n => !excluded.Contains(n)).ToList();
    }

    /// <summary>
    /// Holds out the same share of each class (rounded), chosen by a seeded shuffle, so that a rare positive class is
    /// represented in both parts and the AUC is comparable from one retrain to the next. Rows keep their input order.
    /// </summary>
    private static (List<TrainingRow> Train, List<TrainingRow> Test) StratifiedSplit(IReadOnlyList<TrainingRow> rows,
        double fraction, int seed)
    {
        var random = new Random(seed);
        var isTest = new bool[rows.Count];
        foreach (var label in new[] { true, false })
        {
            var indices = Enumerable.Range(0, rows.Count).Where(i => rows[i].Label == label).ToArray();
            random.Shuffle(indices);
            var take = (int)Math.Round(indices.Length * fraction, MidpointRounding.AwayFromZero);
            foreach (var i in indices.Take(take))
            {
                isTest[i] = true;
            }
        }

        var train = new List<TrainingRow>(rows.Count);
        var test = new List<TrainingRow>();
        for (var i = 0; i < rows.Count; i++)
        {
            (isTest[i] ? test : train).Add(rows[i]);
        }

        return (train, test);
    }

    private static List<EncodedRow> Encode(FeatureEncoder encoder, List<TrainingRow> rows) =>
        rows.Select(r => new EncodedRow { Label = r.Label, Features = encoder.Encode(r.Features) }).ToList();

    /// <summary>ML.NET input row; the vector width is set at run time through the schema definition.</summary>
    private sealed class EncodedRow
    {
        public bool Label { get; set; }

        public float[] Features { get; set; } = [];
    }

    /// <summary>ML.NET output row: the calibrated probability.</summary>
    private sealed class ScoredRow
    {
        public float Probability { get; set; }
    }
}
