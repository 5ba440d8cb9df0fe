using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using OrleansCrm.Campaigns;
using OrleansCrm.Decisions;

namespace OrleansCrm.Customers;

/// <summary>
/// How a customer stores itself. Every write goes through the silo's group-commit writer (<see cref="ICustomerWriter"/>).
/// Events are acknowledged once their log rows have committed; the snapshot of the state follows off the answer's
/// path: after <see cref="SnapshotDelay"/>, after <see cref="MaxEventsBehindSnapshot"/> events, or at deactivation,
/// whichever comes first. Everything else (campaign decisions with their actions, merges, erasure, segment housekeeping)
/// writes its snapshot in the same commit or before its effects leave.
/// </summary>
public sealed partial class CustomerGrain
{
    /// <summary>How long the snapshot may lag the log of an active customer.</summary>
    private static readonly TimeSpan SnapshotDelay = TimeSpan.FromSeconds(5);

    /// <summary>How many events the snapshot may lag the log: bounds what an activation replays after a crash.</summary>
    private const int MaxEventsBehindSnapshot = 100;

    /// <summary>Segment message sequences are (log sequence × 2^20) + a counter, so a message sent after a later event
    /// always outranks one sent before it, whether or not the snapshot recorded the earlier one.</summary>
    private const int SegmentSequenceShift = 20;

    private CustomerState _state = new();

    /// <summary>The stored snapshot's version (0: none stored).</summary>
    private long _version;

    /// <summary>Events applied in memory that the stored snapshot has not seen.</summary>
    private int _behindLog;

    /// <summary>Log rows folded into the state above the stored snapshot's sequence (-1: not known, after a state read
    /// from an earlier version's storage); the snapshot write is checked against the log with it.</summary>
    private int _appliedSince;
    private IGrainTimer? _snapshotTimer;

    /// <summary>Set when this customer's state was read from the grain storage of earlier versions; it moves to the
    /// snapshot table with the first write, and the old row is removed then.</summary>
    private GrainState<CustomerState>? _legacyState;

    /// <summary>The log sequence at which this activation recovered a snapshot that lagged the log (0: none).</summary>
    private long _recoveredAt;

    /// <summary>Memory may be ahead of storage (a write failed): the next call reloads and replays the log.</summary>
    private bool _stale;

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _snapshotTimer?.Dispose();
        if (_behindLog > 0 && !_stale)
        {
            try
            {
                await WriteAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The log holds every event: the next activation replays what this snapshot would have saved.
                logger.LogWarning(e, "Customer {CustomerId} deactivated without its last snapshot; the log will be replayed", Id);
            }
        }
    }

    /// <summary>Reads the stored snapshot (or the state an earlier version stored in Orleans' grain storage). A
    /// database that cannot be reached is a <see cref="CustomerStorageException"/>: the caller may retry.</summary>
    private async Task LoadAsync()
    {
        try
        {
            await LoadCoreAsync();
        }
        catch (System.Data.Common.DbException e)
        {
            logger.LogWarning(e, "Customer {CustomerId} could not be read", Id);
            throw new CustomerStorageException($"customer '{Id}' could not be read: {e.Message}");
        }
    }

    private async Task LoadCoreAsync()
    {
        ForgetEncodedView();
        _legacyState = null;
        _decisions = null;
        _droppedDecisions.Clear();
        var customer = await log.ReadCustomerAsync(Id, ReplayPage);
        _unreplayed = customer.Tail;
        _hasDecisionRows = customer.HasDecisions;
        _appliedSince = 0;
        if (customer.Snapshot is { } stored)
        {
            _state = serializer.Deserialize(stored.Payload) ?? throw new InvalidOperationException($"customer '{Id}' has an empty snapshot");
            _state.AppliedSequence = stored.AppliedSequence;
            _version = stored.Version;
            return;
        }

        _version = 0;
        _state = new CustomerState();
        if (await writer.MayHoldLegacyStatesAsync())
        {
            var legacy = new GrainState<CustomerState>(new CustomerState());
            await LegacyStorage.ReadStateAsync(LegacyStateName, this.GetGrainId(), legacy);
            if (legacy.RecordExists && legacy.State is { } old)
            {
                _state = old;
                _legacyState = legacy;
                _appliedSince = -1;

                // The log tail read was the whole log; the old state has applied part of it.
                _unreplayed = null;
            }
        }
    }

    /// <summary>The first page of log events after the loaded snapshot, read with it; the replay starts there.</summary>
    private IReadOnlyList<LoggedEvent>? _unreplayed;

    private const string LegacyStateName = "customer";

    private IGrainStorage LegacyStorage => ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Crm);

    /// <summary>Stores <paramref name="events"/> and <paramref name="actions"/> (and, with <paramref name="withSnapshot"/>,
    /// the state as it is now, and the gateway's <paramref name="audit"/> record) in the next group commit.
    /// <paramref name="contacts"/> (from <see cref="ContactChanges"/>) are claimed and released in the same commit; the
    /// snapshot, if any, then records them.</summary>
    private async Task<CommitResult> CommitAsync(
        IReadOnlyList<CustomerEvent> events,
        IReadOnlyList<CampaignAction> actions,
        bool withSnapshot,
        OrleansCrm.Access.AuditEntry? audit = null,
        (List<string> Claims, List<string> Releases)? contacts = null,
        IReadOnlyList<StoredDecision>? decisions = null,
        IReadOnlyList<string>? droppedDecisions = null)
    {
        var (claims, releases) = contacts ?? ([], []);
        if (claims.Count > 0 || releases.Count > 0)
        {
            // Recorded before the snapshot is serialised, so it stores them; if the commit fails, the state is reloaded.
            S.IndexedContacts.ExceptWith(releases);
            S.IndexedContacts.UnionWith(claims);
        }

        var snapshot = withSnapshot ? new SnapshotWrite(serializer.SerializeToArray(S), S.AppliedSequence, _version, _appliedSince) : null;
        CommitResult result;
        try
        {
            result = await writer.CommitAsync(new CustomerCommit(Id, events, null, actions, snapshot, audit is null ? null : [audit], claims, releases, decisions, droppedDecisions));
        }
        catch
        {
            _stale = true;
            throw;
        }

        foreach (var key in claims)
        {
            if (result.Holders?.GetValueOrDefault(key) is { } holders && holders.Where(h => h != Id).ToArray() is { Length: > 0 } others)
            {
                (_conflicts ??= []).Add((key, others, holders.Length >= ContactIndexLimits.HoldersReported));
            }
        }

        if (snapshot is not null)
        {
            await SnapshotWrittenAsync(result, snapshot);
        }

        return result;
    }

    /// <summary>Conflicts found by claims since the caller last took them.</summary>
    private List<(string Key, string[] Others, bool More)>? _conflicts;

    /// <summary>Writes the snapshot now (in the next group commit) and returns once it is durable.</summary>
    private async Task WriteAsync(bool claimContacts = false)
    {
        var claim = claimContacts || _claimsDeferred;
        await CommitAsync([], [], withSnapshot: true, contacts: claim ? ContactChanges() : null);
        if (claim)
        {
            _claimsDeferred = false;
        }
    }

    private async Task SnapshotWrittenAsync(CommitResult result, SnapshotWrite written)
    {
        if (result.SnapshotConflict)
        {
            // Another activation of this customer wrote in between (a membership change), or the log holds a row this
            // state has not folded (another writer logged it after this activation read the log): this one's memory is
            // not the truth any more. The log rows of the commit stand; the next call reloads and replays them.
            _stale = true;
            throw new InconsistentStateException($"customer '{Id}' was written by another activation", written.ExpectedVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), "?");
        }

        _version = result.SnapshotVersion!.Value;
        _behindLog = 0;
        _appliedSince = written.AppliedSince < 0 ? 0 : _appliedSince - written.AppliedSince;
        _snapshotTimer?.Dispose();
        _snapshotTimer = null;
        if (_legacyState is { } legacy)
        {
            // Moved: the old copy (which may hold personal data) must not outlive it.
            await LegacyStorage.ClearStateAsync(LegacyStateName, this.GetGrainId(), legacy);
            _legacyState = null;
        }
    }

    /// <summary>Notes that the snapshot is behind the log, and writes it now if it is too far behind, else schedules it.</summary>
    private async Task MarkBehindLogAsync()
    {
        _behindLog++;
        if (_behindLog >= MaxEventsBehindSnapshot)
        {
            await WriteAsync();
            return;
        }

        _snapshotTimer ??= this.RegisterGrainTimer(
            async _ =>
            {
                ForgetEncodedView();
                _snapshotTimer?.Dispose();
                _snapshotTimer = null;
                if (_behindLog > 0 && !_stale)
                {
                    try
                    {
                        await WriteAsync();
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        logger.LogWarning(e, "Snapshot of customer {CustomerId} not written; the log holds its events", Id);
                    }
                }
            },
            new GrainTimerCreationOptions(SnapshotDelay, Timeout.InfiniteTimeSpan));
    }

    private async Task RefreshIfStaleAsync()
    {
        if (_stale)
        {
            await LoadAsync();
            _stale = false;
            _behindLog = 0;
            await CatchUpAsync();
        }
    }

    /// <summary>The next segment message's sequence: above every earlier one of this customer, and, after a recovery,
    /// above any message the lost part of the snapshot may have sent.</summary>
    private long NextSegmentSequence()
    {
        var floor = (S.AppliedSequence << SegmentSequenceShift) + (_recoveredAt != 0 && _recoveredAt == S.AppliedSequence ? 1L << (SegmentSequenceShift - 1) : 0);
        S.SegmentSequence = Math.Max(S.SegmentSequence + 1, floor);
        return S.SegmentSequence;
    }

    /// <summary>Queues this customer's current membership of every segment, joined or not: the shards apply what they
    /// have not seen and ignore the rest.</summary>
    private void ResendMembership(DecisionSnapshot snapshot)
    {
        var ids = (snapshot.Segments ?? []).Select(d => d.Id).Concat(S.Segments).Distinct(StringComparer.Ordinal).ToList();
        if (ids.Count == 0)
        {
            return;
        }

        var sequence = NextSegmentSequence();
        foreach (var id in ids)
        {
            S.SegmentOutbox.Add(new SegmentMessage(id, S.Segments.Contains(id), sequence));
        }
    }
}
