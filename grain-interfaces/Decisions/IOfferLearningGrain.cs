namespace OrleansCrm.Decisions;

/// <summary>How customers answered one offer, per customer group: the evidence next-best-action learns from.</summary>
[Alias("crm.IOfferLearningGrain")]
public interface IOfferLearningGrain : IGrainWithStringKey
{
    /// <summary>Counts one outcome; <paramref name="outcomeId"/> makes a repeat a no-op, however late it comes. Returns
    /// once the outcome is stored (concurrent reports share one write).</summary>
    [Alias("Record")]
    Task RecordAsync(string group, string outcome, string outcomeId);

    [Alias("GetStats")]
    Task<OfferLearning> GetAsync();
}

[GenerateSerializer, Immutable, Alias("crm.OfferLearning")]
public sealed record OfferLearning(string OfferId, long Version, Dictionary<string, OutcomeCounts> Groups);

[GenerateSerializer, Immutable, Alias("crm.OutcomeCounts")]
public sealed record OutcomeCounts(long Accepted, long Declined, long NotNow);

/// <summary>Recomputes the cluster-wide RFM quintile thresholds from the event log (hourly, or on demand).</summary>
[Alias("crm.IRfmGrain")]
public interface IRfmGrain : IGrainWithIntegerKey
{
    [Alias("Refresh")]
    Task<RfmThresholds> RefreshAsync();

    /// <summary>Makes sure the hourly refresh is scheduled (called at silo start).</summary>
    [Alias("EnsureScheduled")]
    Task EnsureScheduledAsync();
}

/// <summary>Quintile cut points (20/40/60/80 %) over customers with at least one purchase.</summary>
[GenerateSerializer, Immutable, Alias("crm.RfmThresholds")]
public sealed record RfmThresholds(double[] RecencyDays, double[] Frequency, double[] Monetary, int Customers, DateTimeOffset ComputedAt);

/// <summary>Trains a model from the data the cluster holds and installs it as the next version of the model set.</summary>
[Alias("crm.IModelTrainingGrain")]
public interface IModelTrainingGrain : IGrainWithIntegerKey
{
    [Alias("Train")]
    Task<TrainingReport> TrainAsync(TrainRequest request);
}

/// <summary><c>churn</c> or <c>response</c>: a scorecard whose label is the customer attribute <see cref="Label"/>
/// (positive when it equals <see cref="Positive"/>); <c>ltv</c>: BG/NBD and Gamma-Gamma from purchases.</summary>
[GenerateSerializer, Immutable, Alias("crm.TrainRequest")]
public sealed record TrainRequest(string Model, string? Label, string? Positive, string[]? Exclude, int Seed = 42);

[GenerateSerializer, Immutable, Alias("crm.TrainingReport")]
public sealed record TrainingReport(string Model, long ModelSetVersion, int Rows, double? HoldoutAuc, Dictionary<string, double> Parameters, string Detail);
