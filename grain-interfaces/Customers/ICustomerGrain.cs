namespace OrleansCrm.Customers;

/// <summary>
/// One customer: the single source of the customer's live view. Keyed by <see cref="CustomerKeys.GrainKey"/>.
/// </summary>
[Alias("crm.ICustomerGrain")]
public interface ICustomerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Creates the customer or replaces the profile fields it was given; returns the view after the change.
    /// The change is stored before the call returns.
    /// </summary>
    [Alias("UpsertProfile")]
    Task<CustomerView> UpsertProfileAsync(CustomerProfile profile);

    /// <summary>The customer's current view, or null when no such customer was ever recorded.</summary>
    [Alias("GetView")]
    Task<CustomerView?> GetViewAsync();
}

/// <summary>The profile fields a caller sets. Null leaves a field as it is.</summary>
[GenerateSerializer, Immutable, Alias("crm.CustomerProfile")]
public sealed record CustomerProfile(string? FirstName, string? LastName, string? Email, string? Phone);

/// <summary>What an agent sees of one customer.</summary>
[GenerateSerializer, Immutable, Alias("crm.CustomerView")]
public sealed record CustomerView(
    string CustomerId,
    string? FirstName,
    string? LastName,
    string? Email,
    string? Phone,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long Revision);
