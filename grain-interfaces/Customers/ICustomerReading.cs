namespace OrleansCrm.Customers;

/// <summary>A role of <see cref="ICustomerGrain"/>. Reading: the live view, the unit the gateway checks reach against, next-
/// best-action and the history.</summary>
[Alias("crm.ICustomerReading")]
public interface ICustomerReading : IGrainWithStringKey
{
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

    /// <summary>The customer's full history from the log, newest first.</summary>
    [Alias("GetHistory")]
    Task<HistoryPage> GetHistoryAsync(string? cursor, int limit);
}
