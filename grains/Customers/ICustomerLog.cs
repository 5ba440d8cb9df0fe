namespace OrleansCrm.Customers;

/// <summary>
/// The append-only log of every customer event (table <c>crm_customer_events</c>, in the same database as grain
/// state). Unique per customer and event id, so appending is idempotent; the sequence orders what was recorded.
/// </summary>
public interface ICustomerLog
{
    /// <summary>Appends the events not yet in the log; returns, for every event, its sequence and whether it was
    /// already there.</summary>
    Task<IReadOnlyList<LogAppend>> AppendAsync(string customerId, IReadOnlyList<CustomerEvent> events, string? originCustomerId = null);

    /// <summary>Events of the customer with a sequence above <paramref name="afterSequence"/>, oldest first.</summary>
    Task<IReadOnlyList<LoggedEvent>> ReadAfterAsync(string customerId, long afterSequence, int limit);

    /// <summary>What an activation reads, in one round trip and one consistent view of the database: the stored
    /// snapshot (null when none was written), the first <paramref name="limit"/> events after the sequence it had
    /// applied (after 0 without a snapshot), and whether the customer has campaign decision rows.</summary>
    Task<StoredCustomer> ReadCustomerAsync(string customerId, int limit);

    /// <summary>The customer's stored campaign decisions (rows written by its commits' <see cref="CustomerCommit.Decisions"/>).</summary>
    Task<IReadOnlyList<StoredDecision>> ReadDecisionsAsync(string customerId);

    /// <summary>Events newest first (by occurred-at, then sequence), strictly before <paramref name="before"/>.</summary>
    Task<IReadOnlyList<LoggedEvent>> ReadPageAsync(string customerId, (DateTimeOffset OccurredAt, long Sequence)? before, int limit);

    /// <summary>Rewrites the payload of every logged event of the customer with <paramref name="redact"/> (an erasure);
    /// returns how many rows changed, so a repeat returns 0.</summary>
    Task<int> RedactAsync(string customerId, Func<EventData, EventData> redact);

    /// <summary>Per customer with purchases: days since the last one (as of <paramref name="now"/>), how many, how much.</summary>
    Task<IReadOnlyList<PurchaseAggregate>> ReadPurchaseAggregatesAsync(DateTimeOffset now);

    /// <summary>Every customer's attributes and purchase summary, rebuilt from the log.</summary>
    Task<IReadOnlyList<CustomerTrainingRow>> ReadTrainingRowsAsync();
}

/// <summary>What model training reads for one customer: the free attributes as the profile events left them,
/// and the purchase history in brief.</summary>
public sealed record CustomerTrainingRow(string CustomerId, Dictionary<string, string> Attributes, long Purchases, decimal PurchaseTotal, DateTimeOffset? FirstPurchase, DateTimeOffset? LastPurchase);

public sealed record PurchaseAggregate(string CustomerId, double RecencyDays, long Count, decimal Total);

/// <summary>A customer as stored: its snapshot, the log events the snapshot has not applied (up to a limit), and
/// whether it has campaign decision rows (read with <see cref="ICustomerLog.ReadDecisionsAsync"/> when needed).</summary>
public sealed record StoredCustomer(StoredSnapshot? Snapshot, IReadOnlyList<LoggedEvent> Tail, bool HasDecisions = false);

public sealed record LogAppend(string EventId, long Sequence, bool Existed);

/// <summary>A logged event; <see cref="OriginCustomerId"/> is set on copies absorbed from a merged customer.</summary>
public sealed record LoggedEvent(long Sequence, string CustomerId, CustomerEvent Event, DateTimeOffset RecordedAt, string? OriginCustomerId);
