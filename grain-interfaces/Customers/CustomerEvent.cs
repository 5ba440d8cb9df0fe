namespace OrleansCrm.Customers;

/// <summary>
/// One thing that happened to a customer. Idempotent by <see cref="EventId"/>: recording the same id again for the
/// same customer changes nothing and returns the original acknowledgement.
/// </summary>
[GenerateSerializer, Immutable, Alias("crm.CustomerEvent")]
public sealed record CustomerEvent(
    string EventId,
    string Type,
    DateTimeOffset OccurredAt,
    string? Source,
    string? Channel,
    EventData Data);

/// <summary>
/// The payload of an event. Which fields a type requires is defined by <see cref="CustomerEventRules"/>;
/// the rest stay null.
/// </summary>
[GenerateSerializer, Immutable, Alias("crm.EventData")]
public sealed record EventData(
    decimal? Amount = null,
    string? Currency = null,
    string? ProductId = null,
    string? ProductName = null,
    string? Category = null,
    int? Quantity = null,
    string? CaseId = null,
    string? Subject = null,
    string? Agent = null,
    string? Outcome = null,
    string? Campaign = null,
    string? Url = null,
    string? Purpose = null,
    bool? Granted = null,
    string? Reference = null,
    DateTimeOffset? DueAt = null,
    CustomerProfile? Profile = null,
    string? Note = null,
    string? OfferId = null,
    string? Segment = null)
{
    public static EventData Empty { get; } = new();
}

/// <summary>The acknowledgement of one event: its position in the customer's log, and whether it was new.</summary>
[GenerateSerializer, Immutable, Alias("crm.EventAck")]
public sealed record EventAck(string EventId, long Sequence, bool Duplicate);

/// <summary>The outcome of recording events for one customer. <see cref="Conflicts"/> names contact points this
/// customer gave that another customer already holds (reported, never silently taken over).</summary>
[GenerateSerializer, Immutable, Alias("crm.RecordResult")]
public sealed record RecordResult(string CustomerId, EventAck[] Acks, CustomerView View, string[] Conflicts);

/// <summary>How to record events: create an unknown customer or refuse it; an audit record to store in the same
/// commit (the gateway's record of the request); and whether the answer should carry the new view (building and
/// shipping it costs more than recording a single event).</summary>
[GenerateSerializer, Immutable, Alias("crm.RecordOptions")]
public sealed record RecordOptions(bool CreateIfMissing, OrleansCrm.Access.AuditEntry? Audit = null, bool ReturnView = true);

/// <summary>The acknowledgements of recorded events, with the new view only when <see cref="RecordOptions.ReturnView"/>.</summary>
[GenerateSerializer, Immutable, Alias("crm.RecordOutcome")]
public sealed record RecordOutcome(string CustomerId, EventAck[] Acks, string[] Conflicts, CustomerView? View);

/// <summary>One entry of a customer's full history, read from the append-only log.</summary>
[GenerateSerializer, Immutable, Alias("crm.HistoryItem")]
public sealed record HistoryItem(
    long Sequence,
    string EventId,
    string CustomerId,
    string Type,
    DateTimeOffset OccurredAt,
    DateTimeOffset RecordedAt,
    string? Source,
    string? Channel,
    EventData Data);

/// <summary>A page of history, newest first; pass <see cref="Next"/> back to read further.</summary>
[GenerateSerializer, Immutable, Alias("crm.HistoryPage")]
public sealed record HistoryPage(HistoryItem[] Items, string? Next);
