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

    /// <summary>
    /// Creates a customer straight in the log, without an activation (the bulk path of imports): its events and
    /// contact claims are stored in the next group commit if the customer has neither a snapshot nor a log row, checked
    /// in that transaction (on PostgreSQL under the customer's lock, which snapshot writes take too). Returns the events'
    /// log positions, or null when the customer exists: its rows must then go through its grain. The customer is built
    /// from its log when it is first activated.
    /// </summary>
    Task<IReadOnlyList<LogAppend>?> CreateAsync(NewCustomer customer);

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
/// <see cref="Releases"/> those it no longer holds (<see cref="IContactIndex"/>). <see cref="Decisions"/> are campaign
/// decisions to store unless their key is already stored; <see cref="DecisionsDropped"/> keys of decisions to delete
/// (older than the customer keeps).
/// </summary>
public sealed record CustomerCommit(
    string CustomerId,
    IReadOnlyList<CustomerEvent> Events,
    string? OriginCustomerId = null,
    IReadOnlyList<CampaignAction>? Actions = null,
    SnapshotWrite? Snapshot = null,
    IReadOnlyList<OrleansCrm.Access.AuditEntry>? Audit = null,
    IReadOnlyList<string>? Claims = null,
    IReadOnlyList<string>? Releases = null,
    IReadOnlyList<StoredDecision>? Decisions = null,
    IReadOnlyList<string>? DecisionsDropped = null)
{
    public int RowCount => Events.Count + (Actions?.Count ?? 0) + (Snapshot is null ? 0 : 1) + (Audit?.Count ?? 0) + (Claims?.Count ?? 0) + (Releases?.Count ?? 0)
        + (Decisions?.Count ?? 0) + (DecisionsDropped?.Count ?? 0);

    public long ByteEstimate => (Events.Count * 512L) + ((Actions?.Count ?? 0) * 1024L) + (Snapshot?.Payload.Length ?? 0) + ((Decisions?.Count ?? 0) * 256L);
}

/// <summary>A customer's decision for one campaign step as stored (<c>crm_campaign_decisions</c>): its key
/// (<c>campaign/step</c>), when it was made, and the record as JSON.</summary>
public sealed record StoredDecision(string Key, DateTimeOffset DecidedAt, string Record);

/// <summary>A customer for <see cref="ICustomerWriter.CreateAsync"/>: its events (distinct ids) and the contact points
/// its state would claim.</summary>
public sealed record NewCustomer(string CustomerId, IReadOnlyList<CustomerEvent> Events, IReadOnlyList<string> Claims)
{
    public int RowCount => Events.Count + Claims.Count + 1;
}

/// <summary>A snapshot to store: the serialised state, the highest log sequence folded into it, and the version the
/// writer last read or wrote (0: none stored yet). <see cref="AppliedSince"/> is how many log rows the state folded
/// above the stored snapshot's sequence (-1: not known, not checked): the snapshot is refused, as a conflict, unless the
/// log holds exactly that many rows of the customer between the stored sequence and <see cref="AppliedSequence"/>, so a
/// row another writer logged meanwhile (a bulk load, a second activation) is never covered by a state that did not fold
/// it.</summary>
public sealed record SnapshotWrite(byte[] Payload, long AppliedSequence, long ExpectedVersion, int AppliedSince = -1);

/// <summary>For every event of the commit, its log sequence and whether it was already there; the snapshot's new
/// version (null when none was written); and whether the snapshot lost to a concurrent writer (another activation of
/// the same customer), in which case everything else in the commit still stands. <see cref="Holders"/> gives, for
/// every claimed contact point but names (many customers share a name; that is no conflict), its holders in claim order
/// as the commit's transaction saw them, at most <see cref="ContactIndexLimits.HoldersReported"/>.</summary>
public sealed record CommitResult(IReadOnlyList<LogAppend> Appends, long? SnapshotVersion, bool SnapshotConflict, int ActionsAdded, IReadOnlyDictionary<string, string[]>? Holders = null);

/// <summary>A stored snapshot.</summary>
public sealed record StoredSnapshot(byte[] Payload, long AppliedSequence, long Version);
