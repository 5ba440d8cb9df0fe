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
