using OrleansCrm.Campaigns;

namespace OrleansCrm.Customers;

/// <summary>
/// The customer's durable write path. Each silo has one group-commit writer: a <see cref="CustomerCommit"/> from any
/// customer grain joins the next transaction together with whatever other grains of the silo handed in meanwhile, and
/// the returned task completes only once that transaction has committed. One grain's commit is atomic (its log rows,
/// actions and snapshot are stored together or not at all), and one grain's bad row fails that grain's commit alone.
/// </summary>
public interface ICustomerWriter
{
    /// <summary>Stores the commit's rows in the next group commit; see <see cref="CommitResult"/>.</summary>
    Task<CommitResult> CommitAsync(CustomerCommit commit);

    /// <summary>Whether customers' states stored by earlier versions (in Orleans' grain storage, state name
    /// <c>customer</c>) may still exist: a customer with no snapshot then looks there before starting empty.</summary>
    Task<bool> MayHoldLegacyStatesAsync();
}

/// <summary>
/// What one customer grain stores at once. <see cref="Events"/> go into the log unless their id is already there
/// (the idempotency of recording); <see cref="Actions"/> into the campaign action outbox unless their idempotency key
/// is; <see cref="Snapshot"/>, when given, replaces the stored snapshot if that is still at
/// <see cref="SnapshotWrite.ExpectedVersion"/>; <see cref="Audit"/> records go into the audit trail.
/// <see cref="Claims"/> are contact points (index keys) the customer now holds in the lookup index and
/// <see cref="Releases"/> those it no longer holds (<see cref="IContactIndex"/>).
/// </summary>
public sealed record CustomerCommit(
    string CustomerId,
    IReadOnlyList<CustomerEvent> Events,
    string? OriginCustomerId = null,
    IReadOnlyList<CampaignAction>? Actions = null,
    SnapshotWrite? Snapshot = null,
    IReadOnlyList<OrleansCrm.Access.AuditEntry>? Audit = null,
    IReadOnlyList<string>? Claims = null,
    IReadOnlyList<string>? Releases = null)
{
    public int RowCount => Events.Count + (Actions?.Count ?? 0) + (Snapshot is null ? 0 : 1) + (Audit?.Count ?? 0) + (Claims?.Count ?? 0) + (Releases?.Count ?? 0);

    public long ByteEstimate => (Events.Count * 512L) + ((Actions?.Count ?? 0) * 1024L) + (Snapshot?.Payload.Length ?? 0);
}

/// <summary>A snapshot to store: the serialised state, the highest log sequence folded into it, and the version the
/// writer last read or wrote (0: none stored yet).</summary>
public sealed record SnapshotWrite(byte[] Payload, long AppliedSequence, long ExpectedVersion);

/// <summary>For every event of the commit, its log sequence and whether it was already there; the snapshot's new
/// version (null when none was written); and whether the snapshot lost to a concurrent writer (another activation of
/// the same customer), in which case everything else in the commit still stands. <see cref="Holders"/> gives, for
/// every claimed contact point but names (many customers share a name; that is no conflict), its holders in claim order
/// as the commit's transaction saw them, at most <see cref="ContactIndexLimits.HoldersReported"/>.</summary>
public sealed record CommitResult(IReadOnlyList<LogAppend> Appends, long? SnapshotVersion, bool SnapshotConflict, int ActionsAdded, IReadOnlyDictionary<string, string[]>? Holders = null);

/// <summary>A stored snapshot.</summary>
public sealed record StoredSnapshot(byte[] Payload, long AppliedSequence, long Version);
