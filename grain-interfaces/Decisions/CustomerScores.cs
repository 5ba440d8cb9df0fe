namespace OrleansCrm.Decisions;

/// <summary>One score of the customer view, declared once: its name (the view's key, a segment's field, a rule's
/// <c>customer.scores.&lt;name&gt;</c>) and what it means. The computation stays in <c>CustomerDecisions.Scores</c>.</summary>
/// <param name="Name">The key in the view's <c>scores</c>.</param>
/// <param name="Description">One line for the docs and error messages.</param>
/// <param name="MovesWithClock">Whether its value changes with the time it is read, without any new event.</param>
public sealed record ScoreInfo(string Name, string Description, bool MovesWithClock = true);

/// <summary>The scores every customer view may carry. Rules may add scores of their own (<c>adjustScore</c>).</summary>
public static class CustomerScores
{
    public const string Rfm = "rfm";
    public const string ChurnRisk = "churnRisk";
    public const string ResponsePropensity = "responsePropensity";
    public const string HistoricalValue = "historicalValue";
    public const string ExpectedPurchases52w = "expectedPurchases52w";
    public const string PredictedValue52w = "predictedValue52w";
    public const string RiskFlag = "riskFlag";

    /// <summary>The scores computed for customers, in the order the view computes them. Each is reachable in a
    /// segment definition by its bare name.</summary>
    public static IReadOnlyList<ScoreInfo> All { get; } =
    [
        new(Rfm, "Recency, frequency and monetary quintiles 1-5 (label R5F3M4), value their mean."),
        new(ChurnRisk, "Probability the customer leaves: the churn scorecard when trained, else rules of thumb."),
        new(ResponsePropensity, "Probability the customer responds to an offer: the response scorecard when trained, else 0.1."),
        new(HistoricalValue, "Purchase total.", MovesWithClock: false),
        new(ExpectedPurchases52w, "Expected purchases in the next 52 weeks (BG/NBD), once the lifetime-value model is trained."),
        new(PredictedValue52w, "Expected spend in the next 52 weeks (BG/NBD × Gamma-Gamma), once the lifetime-value model is trained."),
        new(RiskFlag, "1 while a risk flag (large-withdrawal, late-payments) is raised, else 0."),
    ];

    /// <summary>The family of per-offer-category scores, one per category and channel in the offer catalogue.</summary>
    public static ScoreInfo ResponsePropensityByOffer { get; } =
        new($"{ResponsePropensity}.<category>.<channel>", "The response score adapted by how similar customers answered offers of that category on that channel.");

    private static readonly Dictionary<string, ScoreInfo> ByName = All.ToDictionary(s => s.Name, StringComparer.Ordinal);

    /// <summary>The name of the response score for offers of <paramref name="category"/> on <paramref name="channel"/>.</summary>
    public static string ResponsePropensityFor(string category, string channel) => $"{ResponsePropensity}.{category}.{channel}";

    /// <summary>The declaration of a score in <see cref="All"/>; null for the per-offer family and rules' own scores.</summary>
    public static ScoreInfo? Find(string name) => ByName.GetValueOrDefault(name);
}
