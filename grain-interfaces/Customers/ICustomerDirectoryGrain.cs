namespace OrleansCrm.Customers;

/// <summary>Finds customers by a contact point. Stateless; normalises the value, then asks the index grain.</summary>
[Alias("crm.ICustomerDirectoryGrain")]
public interface ICustomerDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary><paramref name="kind"/> is <c>email</c>, <c>phone</c>, <c>ext</c> (value <c>system:id</c>) or <c>name</c>
    /// (a full name, <c>first last</c>, or a last name; case and accents do not matter).</summary>
    [Alias("Find")]
    Task<LookupResult> FindAsync(string kind, string value);
}

/// <summary>Who holds one contact point. More than one claimant is a conflict an agent must resolve (merge).</summary>
[GenerateSerializer, Immutable, Alias("crm.LookupResult")]
public sealed record LookupResult(string Kind, string Normalised, string[] CustomerIds)
{
    public bool Conflict => CustomerIds.Length > 1;
}

/// <summary>The owners of one normalised contact point, keyed <c>email:…</c>, <c>phone:…</c>, <c>ext:…</c> or
/// <c>name:…</c> (many customers share a name: there more than one holder is normal, not a conflict).</summary>
[Alias("crm.IContactIndexGrain")]
public interface IContactIndexGrain : IGrainWithStringKey
{
    /// <summary>Adds <paramref name="customerId"/> as a holder; returns all holders, the first claimant first.</summary>
    [Alias("Claim")]
    Task<string[]> ClaimAsync(string customerId);

    /// <summary>Moves <paramref name="fromCustomerId"/>'s claim to <paramref name="toCustomerId"/> (after a merge).</summary>
    [Alias("Reassign")]
    Task<string[]> ReassignAsync(string fromCustomerId, string toCustomerId);

    /// <summary>Drops the claims of <paramref name="customerIds"/> (an erasure, or a name the customer no longer has); when no holder is left the index entry
    /// is deleted, so its stored row no longer names the contact point. True when a claim was dropped.</summary>
    [Alias("Release")]
    Task<bool> ReleaseAsync(string[] customerIds);

    [Alias("Holders")]
    Task<string[]> GetHoldersAsync();
}
