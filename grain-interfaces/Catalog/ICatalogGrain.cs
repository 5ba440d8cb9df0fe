namespace OrleansCrm.Catalog;

/// <summary>
/// One versioned configuration document of the cluster: the rule base, the offer catalogue, the trained models,
/// the RFM thresholds. Every silo keeps the current version in memory (refreshed every few seconds), so grains read
/// it locally and a new version takes effect on running silos without a restart.
/// </summary>
[Alias("crm.ICatalogGrain")]
public interface ICatalogGrain : IGrainWithStringKey
{
    [Alias("Get")]
    Task<CatalogDocument> GetAsync();

    /// <summary>The version number only: what silos poll.</summary>
    [Alias("GetVersion")]
    Task<long> GetVersionAsync();

    /// <summary>Stores a new version (already validated by the caller). With <paramref name="expectedVersion"/>,
    /// refuses a write based on an older version (optimistic concurrency for editors).</summary>
    [Alias("Put")]
    Task<CatalogDocument> PutAsync(string json, long? expectedVersion);
}

[GenerateSerializer, Immutable, Alias("crm.CatalogDocument")]
public sealed record CatalogDocument(string Kind, long Version, string Json, DateTimeOffset UpdatedAt);

/// <summary>A write based on an older version than the stored one.</summary>
[GenerateSerializer, Alias("crm.CatalogConflictException")]
public sealed class CatalogConflictException : Exception
{
    public CatalogConflictException()
    {
    }

    public CatalogConflictException(string message)
        : base(message)
    {
    }

    public CatalogConflictException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

public static class CatalogKinds
{
    public const string Rules = "rules";
    public const string Offers = "offers";
    public const string Models = "models";
    public const string Rfm = "rfm";
    public const string Segments = "segments";
    public const string Webhook = "webhook";
    public const string Capacity = "capacity";
    public const string SigningKey = "signing-key";
    public const string Campaigns = "campaigns";
}
