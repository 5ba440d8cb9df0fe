using Orleans.Concurrency;

namespace OrleansCrm.Decisions;

/// <summary>What versions before the outcome rows stored per offer: the counts and the last 5,000 outcome ids. Read
/// as the base the rows add to, so an upgraded deployment keeps its learning; never written again.</summary>
[GenerateSerializer, Alias("crm.OfferLearningState")]
public sealed class OfferLearningState
{
    [Id(0)] public Dictionary<string, OutcomeCounts> Groups { get; set; } = [];
    [Id(1)] public long Version { get; set; }

    /// <summary>The most recent outcome ids, so a repeated report is not counted twice.</summary>
    [Id(2)] public List<string> RecentIds { get; set; } = [];
}

/// <summary>
/// One offer's learning. Every outcome is a row keyed by its id (<see cref="IOfferOutcomeStore"/>), so a repeated
/// report is refused exactly however late it comes, and an outcome costs one short row whatever the offer's history.
/// The counts per group live in memory: the rows' aggregate read at activation, on top of the counts an earlier
/// version kept in its state.
/// <para>
/// Reentrant so that concurrent reports from many customers gather: while one batch is being stored the next reports
/// queue, and the next store writes all of them in one statement. Each caller returns once the batch holding its
/// outcome has committed. Counts and queue are touched only between awaits, one turn at a time, and at most one batch
/// is in flight, so a batch always sees the rows of the one before.
/// </para>
/// </summary>
[Reentrant]
[GrainType("offer-learning")]
public sealed class OfferLearningGrain(
    [PersistentState("offerlearning", StorageNames.Crm)] IPersistentState<OfferLearningState> state,
    IOfferOutcomeStore store) : Grain, IOfferLearningGrain
{
    /// <summary>Rows per statement: three parameters each stays far below both databases' parameter limits.</summary>
    private const int MaxBatch = 1_000;

    private readonly Dictionary<string, OutcomeCounts> _counts = new(StringComparer.Ordinal);
    private readonly Queue<Pending> _queue = new();
    private HashSet<string> _legacyIds = [];
    private long _version;
    private Task? _storing;

    private string OfferId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var (group, counts) in state.State.Groups)
        {
            _counts[group] = counts;
        }

        _version = state.State.Version;
        foreach (var (group, stored) in await store.CountAsync(OfferId))
        {
            var c = _counts.GetValueOrDefault(group) ?? new OutcomeCounts(0, 0, 0);
            _counts[group] = new OutcomeCounts(c.Accepted + stored.Accepted, c.Declined + stored.Declined, c.NotNow + stored.NotNow);
            _version += stored.Accepted + stored.Declined + stored.NotNow;
        }

        // Ids an earlier version counted in its state but never stored as rows.
        _legacyIds = new HashSet<string>(state.State.RecentIds, StringComparer.Ordinal);
    }

    public async Task RecordAsync(string group, string outcome, string outcomeId)
    {
        if (_legacyIds.Contains(outcomeId))
        {
            return;
        }

        var pending = new Pending(new OfferOutcome(outcomeId, group, OutcomeTally.Normalise(outcome)));
        _queue.Enqueue(pending);
        while (!pending.Done.Task.IsCompleted)
        {
            // Whoever finds no batch in flight stores everything queued; the rest wait for that batch and look again.
            if (_storing is not { IsCompleted: false })
            {
                _storing = StoreQueuedAsync();
            }

            await _storing;
        }

        await pending.Done.Task;
    }

    public Task<OfferLearning> GetAsync() =>
        Task.FromResult(new OfferLearning(OfferId, _version, new Dictionary<string, OutcomeCounts>(_counts, StringComparer.Ordinal)));

    /// <summary>Stores the queued outcomes (up to <see cref="MaxBatch"/>) and answers each caller; never throws: a
    /// failure goes to the callers whose outcomes the batch held, and nothing of it is counted.</summary>
    private async Task StoreQueuedAsync()
    {
        var batch = new List<Pending>(Math.Min(_queue.Count, MaxBatch));
        while (batch.Count < MaxBatch && _queue.TryDequeue(out var next))
        {
            batch.Add(next);
        }

        IReadOnlySet<string> stored;
        try
        {
            stored = await store.AddAsync(OfferId, [.. batch.Select(p => p.Outcome)]);
        }
        catch (Exception e)
        {
            foreach (var p in batch)
            {
                p.Done.TrySetException(e);
            }

            return;
        }

        // An id listed twice in the batch was stored once: the first report of it counts.
        var counted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in batch)
        {
            var o = p.Outcome;
            if (stored.Contains(o.OutcomeId) && counted.Add(o.OutcomeId))
            {
                _counts[o.Group] = OutcomeTally.Add(_counts.GetValueOrDefault(o.Group), o.Outcome, 1);
                _version++;
            }

            p.Done.TrySetResult();
        }
    }

    private sealed class Pending(OfferOutcome outcome)
    {
        public OfferOutcome Outcome { get; } = outcome;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
