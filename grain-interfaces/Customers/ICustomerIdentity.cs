namespace OrleansCrm.Customers;

/// <summary>A role of <see cref="ICustomerGrain"/>. Identity and privacy: merges of two records of one person, the privacy
/// export and erasure.</summary>
[Alias("crm.ICustomerIdentity")]
public interface ICustomerIdentity : IGrainWithStringKey
{
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
