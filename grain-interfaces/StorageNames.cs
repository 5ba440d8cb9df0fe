namespace OrleansCrm;

/// <summary>Names of the storage providers grains use; the silo registers providers under these names.</summary>
public static class StorageNames
{
    /// <summary>Durable grain state (SQLite file or PostgreSQL).</summary>
    public const string Crm = "crm";

    /// <summary>Stream subscriptions; Orleans looks this name up for pub-sub state.</summary>
    public const string PubSub = "PubSubStore";

    /// <summary>The stream provider for in-cluster events.</summary>
    public const string Streams = "crm";
}
