using OrleansCrm.Scoring;

namespace OrleansCrm.Models.Classifiers;

/// <summary>
/// One labelled example as the CRM holds it: raw text values keyed by feature name, exactly the shape a grain later
/// passes to <see cref="Scorecard.Score"/>, so that training and scoring cannot disagree about the input.
/// </summary>
/// <param name="Features">Feature name to raw value; a missing key or a blank value means "unknown".</param>
/// <param name="Label">True for the positive class (for example: churned, responded).</param>
public sealed record TrainingRow(IReadOnlyDictionary<string, string> Features, bool Label);

/// <summary>
/// Knobs for <see cref="ScorecardTrainer.Train"/>. Defaults follow the scikit-learn reference protocol the published
/// AUCs were measured with (L2-penalised logistic regression, C = 1), with a fixed seed so that a retrain on the same
/// data yields the same scorecard and the same holdout figure.
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>Seed for the stratified split and for the ML.NET context; fixed so results are reproducible.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Share of each class held out for the AUC; 0 trains on everything and reports a NaN AUC.</summary>
    public double HoldoutFraction { get; init; } = 0.2;

    /// <summary>Features to use, in this order; null means every key seen in the rows, in order of first appearance.</summary>
    public IReadOnlyList<string>? Features { get; init; }

    /// <summary>
    /// Features never to use, applied after <see cref="Features"/>. Numeric identifiers (an integer ID column) cannot be
    /// told apart from a genuine measurement by the data alone, so they have to be named here.
    /// </summary>
    public IReadOnlyCollection<string>? ExcludedFeatures { get; init; }

    /// <summary>Display labels for the agent's screen, keyed by feature name; the name is used where none is given.</summary>
    public IReadOnlyDictionary<string, string>? FeatureLabels { get; init; }

    /// <summary>L2 penalty weight (ML.NET's <c>L2Regularization</c>, comparable to 1 / C in scikit-learn).</summary>
    public float L2Regularization { get; init; } = 1f;

    /// <summary>Version stamped on the scorecard so that grains can tell a retrained model from the one they cache.</summary>
    public int Version { get; init; } = 1;

    /// <summary>Clock for <see cref="Scorecard.TrainedAt"/>; injectable so that tests can pin it.</summary>
    public TimeProvider? Clock { get; init; }
}

/// <summary>
/// The exported scorecard and the evidence that it is any good. The AUC is computed by scoring the held-out rows with
/// the scorecard itself, not with ML.NET, so a mistake in the export would show up as a poor figure here.
/// </summary>
/// <param name="Scorecard">The portable model grains evaluate.</param>
/// <param name="HoldoutAuc">ROC AUC of <paramref name="Scorecard"/> on the held-out rows; NaN without a holdout or a class.</param>
/// <param name="TrainRows">Rows the model was fitted on.</param>
/// <param name="TestRows">Rows held out for <paramref name="HoldoutAuc"/>.</param>
public sealed record TrainingResult(Scorecard Scorecard, double HoldoutAuc, int TrainRows, int TestRows)
{
    /// <summary>ROC AUC of ML.NET's own model on the same held-out rows; it should equal <see cref="HoldoutAuc"/>.</summary>
    public double MlNetHoldoutAuc { get; init; } = double.NaN;

    /// <summary>Both models' probabilities for each held-out row, for calibration checks and to prove the export.</summary>
    public IReadOnlyList<HoldoutPrediction> Holdout { get; init; } = [];

    /// <summary>Features that were offered but left out, with the reason, so that a surprising model can be explained.</summary>
    public IReadOnlyList<DroppedFeature> Dropped { get; init; } = [];
}

/// <summary>One held-out row scored both ways.</summary>
/// <param name="Row">The row as given to the trainer.</param>
/// <param name="ScorecardProbability">Probability from <see cref="Scorecard.Score"/>.</param>
/// <param name="MlNetProbability">Probability from the ML.NET model the scorecard was exported from.</param>
public sealed record HoldoutPrediction(TrainingRow Row, double ScorecardProbability, double MlNetProbability);

/// <summary>A feature the trainer did not use.</summary>
/// <param name="Name">Feature name.</param>
/// <param name="Reason">Why: constant, or looks like an identifier.</param>
public sealed record DroppedFeature(string Name, string Reason);
