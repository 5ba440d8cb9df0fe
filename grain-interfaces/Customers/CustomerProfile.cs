namespace OrleansCrm.Customers;

/// <summary>The profile fields a caller sets. Null leaves a field as it is. E-mail and phone are contact points:
/// a new one is added (and becomes the primary), earlier ones are kept.</summary>
[GenerateSerializer, Immutable, Alias("crm.CustomerProfile")]
public sealed record CustomerProfile(
    string? FirstName = null,
    string? LastName = null,
    string? Email = null,
    string? Phone = null,
    DateOnly? BirthDate = null,
    PostalAddress? Address = null,
    string? OrgUnit = null,
    string? Region = null,
    string? AccountManager = null,
    string? PreferredChannel = null,
    Dictionary<string, string>? Attributes = null,
    string[]? Tags = null,
    Dictionary<string, string>? ExternalIds = null);

[GenerateSerializer, Immutable, Alias("crm.PostalAddress")]
public sealed record PostalAddress(string? Line1, string? Line2, string? City, string? PostalCode, string? Country);
