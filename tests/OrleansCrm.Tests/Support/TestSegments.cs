using System.Text.Json;
using OrleansCrm.Catalog;
using OrleansCrm.Decisions;
using OrleansCrm.Segments;

namespace OrleansCrm.Tests.Support;

/// <summary>Defines segments straight through the catalog grain (as the gateway does) and starts their backfills.</summary>
public static class TestSegments
{
    public static async Task DefineAsync(IClusterClient client, params (string Id, string Expression)[] definitions)
    {
        var catalog = client.GetGrain<ICatalogGrain>(CatalogKinds.Segments);
        for (var attempt = 0; ; attempt++)
        {
            var doc = await catalog.GetAsync();
            var set = doc.Version == 0 ? [] : JsonSerializer.Deserialize<SegmentSet>(doc.Json, DecisionJson.Options)!.Segments ?? [];
            var next = new SegmentSet([.. set.Where(s => definitions.All(d => d.Id != s.Id)), .. definitions.Select(d => new SegmentDefinition(d.Id, d.Id, d.Expression, 1, DateTimeOffset.UtcNow))]);
            try
            {
                await catalog.PutAsync(JsonSerializer.Serialize(next, DecisionJson.Options), doc.Version);
                break;
            }
            catch (CatalogConflictException) when (attempt < 10)
            {
            }
        }

        foreach (var (id, _) in definitions)
        {
            await client.GetGrain<ISegmentBackfillGrain>(id).StartAsync(1);
        }
    }

    /// <summary>Defines the segments and waits until each one's backfill has finished.</summary>
    public static async Task DefineBackfilledAsync(IClusterClient client, params (string Id, string Expression)[] definitions)
    {
        await DefineAsync(client, definitions);
        foreach (var (id, _) in definitions)
        {
            await WaitBackfilledAsync(client, id, TimeSpan.FromSeconds(60));
        }
    }

    public static async Task WaitBackfilledAsync(IClusterClient client, string segmentId, TimeSpan timeout) =>
        await Poll.UntilAsync(async () => (await client.GetGrain<ISegmentBackfillGrain>(segmentId).GetProgressAsync()).Finished, timeout, $"backfill of {segmentId}");
}
