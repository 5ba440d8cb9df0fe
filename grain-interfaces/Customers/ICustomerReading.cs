namespace OrleansCrm.Customers;

/// <summary>A role of <see cref="ICustomerGrain"/>. Reading: the live view, the unit the gateway checks reach against, next-
/// best-action and the history.</summary>
[Alias("crm.ICustomerReading")]
public interface ICustomerReading : IGrainWithStringKey
{
    /// <summary>The customer's current view, or null when no such customer was ever recorded.</summary>
    [Alias("GetView")]
    Task<CustomerView?> GetViewAsync();

    /// <summary>The same view encoded as the API sends it (<see cref="CustomerViewJson"/>), or null when no such customer was
    /// recorded: what the gateway answers a read with, without re-encoding what did not change since the last read.
    /// <paramref name="fields"/>: the members to send (null: all; <c>customerId</c> always); those not asked for are not
    /// computed.</summary>
    [Alias("GetViewJson")]
    Task<ViewJson?> GetViewJsonAsync(string[]? fields);

    /// <summary>The organisation unit the customer belongs to ("" for none), or null when no such customer was
    /// recorded: what the gateway checks a caller's reach against, without building the view.</summary>
    [Alias("GetOrgUnit")]
    Task<string?> GetOrgUnitAsync();

    /// <summary>The unit as this activation holds it, answered between the grain's other calls (never waiting for
    /// them): what another customer asks to tell whether a holder of the same e-mail is in its caller's reach, which
    /// must not wait on a customer that may be asking it the same at that moment.</summary>
    [Alias("PeekOrgUnit"), Orleans.Concurrency.AlwaysInterleave]
    Task<string?> PeekOrgUnitAsync();

    /// <summary>The offers worth making now, best first, each with its reason (also part of the view).</summary>
    [Alias("GetNextBestActions")]
    Task<OrleansCrm.Customers.NextBestAction[]> GetNextBestActionsAsync();

    /// <summary>The customer's full history from the log, newest first.</summary>
    [Alias("GetHistory")]
    Task<HistoryPage> GetHistoryAsync(string? cursor, int limit);
}
