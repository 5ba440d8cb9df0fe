namespace OrleansCrm.Customers;

/// <summary>
/// One customer: the single source of the customer's live view. Keyed by <see cref="CustomerKeys.GrainKey"/>.
/// Everything that changes a customer is an event, appended to the customer's log before it is acknowledged.
/// </summary>
[Alias("crm.ICustomerGrain")]
public interface ICustomerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Creates the customer or changes the profile fields it was given (null leaves a field as it is); recorded
    /// as a <c>profile.changed</c> event with <paramref name="changeId"/> as its id, so a retry is a no-op.
    /// </summary>
    [Alias("UpsertProfile")]
    Task<RecordResult> UpsertProfileAsync(CustomerProfile profile, string changeId, string? source);

    /// <summary>As <see cref="UpsertProfileAsync(CustomerProfile, string, string?)"/>, storing the gateway's
    /// <paramref name="audit"/> record in the same commit as the change.</summary>
    [Alias("UpsertProfileAudited")]
    Task<RecordResult> UpsertProfileAsync(CustomerProfile profile, string changeId, string? source, OrleansCrm.Access.AuditEntry audit);

    /// <summary>
    /// Records events in the customer's log and applies them to the live state. Events already recorded (same id)
    /// are acknowledged again as duplicates and change nothing. Throws <see cref="CustomerNotFoundException"/>
    /// when the customer does not exist and <paramref name="createIfMissing"/> is false.
    /// </summary>
    [Alias("RecordEvents")]
    Task<RecordResult> RecordEventsAsync(CustomerEvent[] events, bool createIfMissing);

    /// <summary>
    /// As <see cref="RecordEventsAsync(CustomerEvent[], bool)"/>, and stores <paramref name="audit"/> (the gateway's
    /// record of this request's success) in the same commit as the events, so recording an event over HTTP costs one
    /// durable write. When the call throws, nothing of <paramref name="audit"/> was stored.
    /// </summary>
    [Alias("RecordEventsAudited")]
    Task<RecordResult> RecordEventsAsync(CustomerEvent[] events, bool createIfMissing, OrleansCrm.Access.AuditEntry audit);

    /// <summary>
    /// Records events as <see cref="RecordEventsAsync(CustomerEvent[], bool)"/> does, as <paramref name="options"/>
    /// say: with the gateway's audit record in the same commit, and with or without the new view in the answer.
    /// </summary>
    [Alias("Record")]
    Task<RecordOutcome> RecordAsync(CustomerEvent[] events, RecordOptions options);

    /// <summary>The customer's current view, or null when no such customer was ever recorded.</summary>
    [Alias("GetView")]
    Task<CustomerView?> GetViewAsync();

    /// <summary>The organisation unit the customer belongs to ("" for none), or null when no such customer was
    /// recorded: what the gateway checks a caller's reach against, without building the view.</summary>
    [Alias("GetOrgUnit")]
    Task<string?> GetOrgUnitAsync();

    /// <summary>The offers worth making now, best first, each with its reason (also part of the view).</summary>
    [Alias("GetNextBestActions")]
    Task<OrleansCrm.Customers.NextBestAction[]> GetNextBestActionsAsync();

    /// <summary>Evaluates the segment definitions now (a backfill, or time passing); returns the joins and leaves sent.</summary>
    [Alias("ReevaluateSegments")]
    Task<int> ReevaluateSegmentsAsync(long segmentsVersion);

    /// <summary>Marks this customer as listed in static segment <paramref name="segmentId"/>'s upload
    /// <paramref name="stamp"/>, and re-evaluates its segments. Returns the id of the customer that now carries the
    /// listing (the survivor, for a merged customer), or null when no such customer was recorded.</summary>
    [Alias("ListInStaticSegment")]
    Task<string?> ListInStaticSegmentAsync(string segmentId, long stamp);

    /// <summary>Whether the customer matches a segment definition now (a preview), without joining anything; null
    /// when no such customer was recorded.</summary>
    [Alias("Matches")]
    Task<bool?> MatchesAsync(string expression);

    /// <summary>Decides a campaign step for this customer, by its own state and the contact policy; a decision to
    /// contact is recorded in the history as a <c>campaign.contact</c> and emitted once to the action outbox. A step
    /// already decided returns the recorded decision (<c>Repeat</c>).</summary>
    [Alias("DecideCampaign")]
    Task<OrleansCrm.Campaigns.CampaignDecisionResult> DecideCampaignAsync(OrleansCrm.Campaigns.CampaignStep campaignStep);

    /// <summary>The customer's full history from the log, newest first.</summary>
    [Alias("GetHistory")]
    Task<HistoryPage> GetHistoryAsync(string? cursor, int limit);

    /// <summary>Absorbs <paramref name="otherCustomerId"/>: its history, aggregates, consents, cases and contact
    /// points move here and the other id forwards to this customer from then on.</summary>
    [Alias("Merge")]
    Task<MergeResult> MergeAsync(string otherCustomerId);

    /// <summary>Called by the surviving customer during a merge: marks this customer as merged into
    /// <paramref name="survivorId"/> and returns the keys whose logs the survivor must absorb.</summary>
    [Alias("HandOver")]
    Task<HandOver> HandOverAsync(string survivorId);

    /// <summary>Everything held about the customer but its history (a privacy export). Throws
    /// <see cref="CustomerNotFoundException"/> for a customer never recorded; a merged id answers for its survivor.</summary>
    [Alias("Export")]
    Task<CustomerExport> ExportAsync();

    /// <summary>Erases the customer's personal data everywhere (state, log payloads, lookup index, segments, action
    /// outbox, and the customers merged into it), keeping its id and aggregates, and closes it to further events.
    /// Idempotent: a repeat answers the first report and changes nothing. A merged id erases its survivor.</summary>
    [Alias("Erase")]
    Task<ErasureReport> EraseAsync(string? reason);

    /// <summary>Called by an erased survivor on each customer merged into it: anonymises this customer's state the
    /// same way and answers what the survivor must clean for it.</summary>
    [Alias("Forget")]
    Task<ForgottenCustomer> ForgetAsync(string survivorId);
}

[GenerateSerializer, Immutable, Alias("crm.HandOver")]
public sealed record HandOver(string CustomerId, string[] LogKeys, string[] Emails, string[] Phones, Dictionary<string, string> ExternalIds);

[GenerateSerializer, Immutable, Alias("crm.MergeResult")]
public sealed record MergeResult(string SurvivorId, string MergedId, int EventsAbsorbed, CustomerView View);

/// <summary>The customer does not exist (and the call did not ask to create it).</summary>
[GenerateSerializer, Alias("crm.CustomerNotFoundException")]
public sealed class CustomerNotFoundException : Exception
{
    public CustomerNotFoundException()
    {
    }

    public CustomerNotFoundException(string customerId)
        : base($"No customer with id '{customerId}' was recorded.") => CustomerId = customerId;

    public CustomerNotFoundException(string message, Exception inner)
        : base(message, inner)
    {
    }

    [Id(0)] public string CustomerId { get; init; } = "";
}

/// <summary>A request the customer cannot honour as asked (merging a customer into itself, a contact point
/// claimed by another customer); the message says which field and why.</summary>
[GenerateSerializer, Alias("crm.CustomerRuleException")]
public sealed class CustomerRuleException : Exception
{
    public CustomerRuleException()
    {
    }

    public CustomerRuleException(string field, string message)
        : base(message) => Field = field;

    public CustomerRuleException(string message, Exception inner)
        : base(message, inner)
    {
    }

    [Id(0)] public string Field { get; init; } = "";
}

/// <summary>The customer's rows could not be stored (the database refused them or could not be reached); nothing
/// of the call was acknowledged, and a retry with the same event ids is safe.</summary>
[GenerateSerializer, Alias("crm.CustomerStorageException")]
public sealed class CustomerStorageException : Exception
{
    public CustomerStorageException()
    {
    }

    public CustomerStorageException(string message)
        : base(message)
    {
    }

    public CustomerStorageException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
