using System.Text.Json;
using OrleansCrm.Catalog;
using OrleansCrm.Decisions;

namespace OrleansCrm.Gateway.Hosting;

/// <summary>Reading and editing a versioned catalog document (rules, offers, segments) from the gateway.</summary>
public static class CatalogDocuments
{
    public static async Task<Versioned<T?>> ReadAsync<T>(IClusterClient cluster, string kind)
        where T : class
    {
        var doc = await cluster.GetGrain<ICatalogGrain>(kind).GetAsync();
        return new Versioned<T?>(doc.Version, doc.Version == 0 ? null : JsonSerializer.Deserialize<T>(doc.Json, DecisionJson.Options));
    }

    /// <summary>Read, change, write back with the version read; on a concurrent edit, read again and retry.</summary>
    public static async Task<long> UpdateAsync<T>(IClusterClient cluster, string kind, Func<T?, T?> change)
        where T : class
    {
        var catalog = cluster.GetGrain<ICatalogGrain>(kind);
        for (var attempt = 0; ; attempt++)
        {
            var doc = await catalog.GetAsync();
            var current = doc.Version == 0 ? null : JsonSerializer.Deserialize<T>(doc.Json, DecisionJson.Options);
            var next = change(current);
            if (next is null)
            {
                return doc.Version;
            }

            try
            {
                return (await catalog.PutAsync(JsonSerializer.Serialize(next, DecisionJson.Options), doc.Version)).Version;
            }
            catch (CatalogConflictException) when (attempt < 5)
            {
            }
        }
    }
}

/// <summary>A document (or one entry of it) with the catalog version it belongs to.</summary>
public sealed record Versioned<T>(long Version, T Document);
