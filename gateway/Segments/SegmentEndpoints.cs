using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCrm.Catalog;
using OrleansCrm.Customers;
using OrleansCrm.Decisions;
using OrleansCrm.Gateway.Hosting;
using OrleansCrm.Segments;

namespace OrleansCrm.Gateway.Segments;

/// <summary>Segments: definitions in the segment language, kept current by the customers themselves; a new or edited
/// definition is backfilled over every existing customer.</summary>
public static class SegmentEndpoints
{
    public static IEndpointRouteBuilder MapSegmentEndpoints(this IEndpointRouteBuilder app)
    {
        var segments = app.MapGroup("/api/v1/segments").WithTags("Segments");
        segments.MapGet("/", async (IClusterClient cluster) => TypedResults.Ok(await ReadAsync(cluster)))
            .WithName("ListSegments").WithSummary("The segment definitions and their version");
        segments.MapPut("/{segmentId}", PutAsync).WithName("PutSegment")
            .WithSummary("Create or change a segment; its membership is backfilled over every customer");
        segments.MapDelete("/{segmentId}", DeleteAsync).WithName("DeleteSegment");
        segments.MapGet("/{segmentId}", GetAsync).WithName("GetSegment").WithSummary("Definition, live member count and backfill progress");
        segments.MapGet("/{segmentId}/members", MembersAsync).WithName("SegmentMembers").WithSummary("Members, paged (pass next back as after)");
        return app;
    }

    private static async Task<Results<Ok<SegmentDefinition>, ValidationProblem>> PutAsync(string segmentId, SegmentRequest? body, IClusterClient cluster, TimeProvider clock)
    {
        if (CustomerKeys.Validate(segmentId) is { } idProblem || segmentId.Contains('/', StringComparison.Ordinal))
        {
            return Problems.Invalid("segmentId", CustomerKeys.Validate(segmentId) ?? "may not contain /");
        }

        if (string.IsNullOrWhiteSpace(body?.Name) || body.Name.Length > 200)
        {
            return Problems.Invalid("name", "is required, at most 200 characters");
        }

        try
        {
            SegmentExpression.Parse(body.Expression ?? "");
        }
        catch (SegmentSyntaxException e)
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["expression"] = [e.Message] },
                title: "The segment definition could not be read",
                extensions: new Dictionary<string, object?> { ["position"] = e.Position, ["line"] = e.Line, ["column"] = e.Column });
        }

        SegmentDefinition? definition = null;
        await CatalogDocuments.UpdateAsync<SegmentSet>(cluster, CatalogKinds.Segments, current =>
        {
            var set = current?.Segments ?? [];
            definition = new SegmentDefinition(segmentId, body.Name, body.Expression!, (set.FirstOrDefault(s => s.Id == segmentId)?.Version ?? 0) + 1, clock.GetUtcNow());
            return new SegmentSet([.. set.Where(s => s.Id != segmentId), definition]);
        });
        await cluster.GetGrain<ISegmentBackfillGrain>(segmentId).StartAsync(definition!.Version);
        return TypedResults.Ok(definition);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string segmentId, IClusterClient cluster)
    {
        var found = false;
        await CatalogDocuments.UpdateAsync<SegmentSet>(cluster, CatalogKinds.Segments, current =>
        {
            var set = current?.Segments ?? [];
            found = set.Any(s => s.Id == segmentId);
            return found ? new SegmentSet([.. set.Where(s => s.Id != segmentId)]) : null;
        });
        if (!found)
        {
            return TypedResults.Problem(title: "Segment not found", statusCode: 404);
        }

        // Members leave as the backfill walks them.
        await cluster.GetGrain<ISegmentBackfillGrain>(segmentId).StartAsync(-1);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<SegmentStatus>, ProblemHttpResult>> GetAsync(string segmentId, IClusterClient cluster)
    {
        var definition = (await ReadAsync(cluster)).FirstOrDefault(s => s.Id == segmentId);
        if (definition is null)
        {
            return TypedResults.Problem(title: "Segment not found", statusCode: 404);
        }

        var counts = await Task.WhenAll(Enumerable.Range(0, SegmentShards.Count).Select(shard =>
            cluster.GetGrain<ISegmentShardGrain>(SegmentShards.Key(segmentId, shard)).CountAsync()));
        var backfill = await cluster.GetGrain<ISegmentBackfillGrain>(segmentId).GetProgressAsync();
        return TypedResults.Ok(new SegmentStatus(definition, counts.Sum(), backfill));
    }

    private static async Task<Results<Ok<MembersPage>, ValidationProblem>> MembersAsync(string segmentId, IClusterClient cluster, string? after = null, int limit = 100)
    {
        if (limit is < 1 or > 1000)
        {
            return Problems.Invalid("limit", "must be from 1 to 1000");
        }

        // The cursor is "<shard>:<last customer id>"; shards are read in order.
        var shard = 0;
        string? last = null;
        if (after is not null)
        {
            var colon = after.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !int.TryParse(after[..colon], System.Globalization.CultureInfo.InvariantCulture, out shard) || shard is < 0 or >= SegmentShards.Count)
            {
                return Problems.Invalid("after", "is not a cursor returned by a previous page");
            }

            last = after[(colon + 1)..];
        }

        var members = new List<string>();
        for (; shard < SegmentShards.Count && members.Count < limit; shard++, last = null)
        {
            var page = await cluster.GetGrain<ISegmentShardGrain>(SegmentShards.Key(segmentId, shard)).MembersAsync(last, limit - members.Count);
            members.AddRange(page);
            if (members.Count >= limit)
            {
                return TypedResults.Ok(new MembersPage([.. members], $"{shard}:{page[^1]}"));
            }
        }

        return TypedResults.Ok(new MembersPage([.. members], null));
    }

    private static async Task<List<SegmentDefinition>> ReadAsync(IClusterClient cluster) =>
        (await CatalogDocuments.ReadAsync<SegmentSet>(cluster, CatalogKinds.Segments)).Document?.Segments ?? [];

    public sealed record SegmentRequest(string? Name, string? Expression);

    public sealed record SegmentStatus(SegmentDefinition Definition, long Members, BackfillProgress Backfill);

    public sealed record MembersPage(string[] Members, string? Next);
}
