namespace OrleansCrm.Customers;

/// <summary>A role of <see cref="ICustomerGrain"/>. Recording: the customer's events and profile changes, appended to its
/// log before they are acknowledged.</summary>
[Alias("crm.ICustomerRecording")]
public interface ICustomerRecording : IGrainWithStringKey
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
}
