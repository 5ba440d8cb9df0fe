namespace OrleansCrm.Customers;

/// <summary>
/// The lookup index (table <c>crm_contact_index</c>): which customers hold each normalised contact point, keyed
/// <c>email:…</c>, <c>phone:…</c>, <c>ext:…</c> or <c>name:…</c> (<see cref="ContactPoints.IndexKey"/>). A customer claims
/// and releases its own points in its group commit (<see cref="CustomerCommit.Claims"/>); this interface reads the
/// index and makes the changes that span customers: a merge and an erasure.
/// </summary>
public interface IContactIndex
{
    /// <summary>The holders of <paramref name="key"/>, the first claimant first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<string>> HoldersAsync(string key, int limit);

    /// <summary>Moves <paramref name="fromCustomerId"/>'s claims on <paramref name="keys"/> to
    /// <paramref name="toCustomerId"/> (after a merge), keeping their place in the claim order; a key the absorbed
    /// customer did not hold is claimed by the survivor.</summary>
    Task ReassignAsync(IReadOnlyCollection<string> keys, string fromCustomerId, string toCustomerId);

    /// <summary>Drops every claim of <paramref name="customerIds"/> (an erasure); returns how many contact points lost
    /// a holder, so a repeat returns 0.</summary>
    Task<int> ReleaseAllAsync(IReadOnlyCollection<string> customerIds);
}

/// <summary>How many holders of a contact point a claim reads back to report a conflict (the claimant and ten others).</summary>
public static class ContactIndexLimits
{
    public const int HoldersReported = 11;

    /// <summary>How many holders a lookup reads: a common name can have thousands.</summary>
    public const int HoldersFound = 1_000;
}

/// <summary>The holders of one contact point as the contact-index grain stored them before the index became rows
/// (schema 0010); read once by the silo's migration, which moves them to <c>crm_contact_index</c>.</summary>
[GenerateSerializer, Alias("crm.ContactIndexState")]
public sealed class ContactIndexState
{
    /// <summary>Customers holding this contact point, the first claimant first.</summary>
    [Id(0)] public List<string> Holders { get; set; } = [];
}
