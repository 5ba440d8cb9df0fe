namespace OrleansCrm.Decisions;

[GenerateSerializer, Alias("crm.OfferLearningState")]
public sealed class OfferLearningState
{
    [Id(0)] public Dictionary<string, OutcomeCounts> Groups { get; set; } = [];
    [Id(1)] public long Version { get; set; }

    /// <summary>The most recent outcome ids, so a repeated report is not counted twice.</summary>
    [Id(2)] public List<string> RecentIds { get; set; } = [];
}

[GrainType("offer-learning")]
public sealed class OfferLearningGrain(
    [PersistentState("offerlearning", StorageNames.Crm)] IPersistentState<OfferLearningState> state) : Grain, IOfferLearningGrain
{
    private const int RecentLimit = 5000;

    public async Task RecordAsync(string group, string outcome, string outcomeId)
    {
        var s = state.State;
        if (s.RecentIds.Contains(outcomeId))
        {
            return;
        }

        var c = s.Groups.GetValueOrDefault(group) ?? new OutcomeCounts(0, 0, 0);
        s.Groups[group] = outcome switch
        {
            "accepted" => c with { Accepted = c.Accepted + 1 },
            "declined" => c with { Declined = c.Declined + 1 },
            _ => c with { NotNow = c.NotNow + 1 },
        };
        s.RecentIds.Add(outcomeId);
        if (s.RecentIds.Count > RecentLimit)
        {
            s.RecentIds.RemoveRange(0, s.RecentIds.Count - RecentLimit);
        }

        s.Version++;
        await state.WriteStateAsync();
    }

    public Task<OfferLearning> GetAsync() =>
        Task.FromResult(new OfferLearning(this.GetPrimaryKeyString(), state.State.Version, new Dictionary<string, OutcomeCounts>(state.State.Groups, StringComparer.Ordinal)));
}
