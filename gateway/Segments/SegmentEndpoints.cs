using System.Security.Claims;
using OrleansCrm.Gateway.Access;
using System.Globalization;
using CsvHelper;
using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCrm.Catalog;
using OrleansCrm.Customers;
using OrleansCrm.Decisions;
using OrleansCrm.Gateway.Hosting;
using OrleansCrm.Segments;

namespace OrleansCrm.Gateway.Segments;

/// <summary>Segments: definitions in the segment language (or uploaded lists of customer ids), kept current by the
/// customers themselves; a new or edited definition is backfilled over every existing customer.</summary>
public static class SegmentEndpoints
{
    /// <summary>Most customer ids one static-segment upload may list.</summary>
    public const int MaxListedCustomers = 100_000;

    private const int Parallelism = 64;

    public static IEndpointRouteBuilder MapSegmentEndpoints(this IEndpointRouteBuilder app)
    {
        var segments = app.MapGroup("/api/v1/segments").WithTags("Segments");
        segments.MapGet("/", async (IClusterClient cluster, ClaimsPrincipal user) => TypedResults.Ok((await ReadAsync(cluster)).Where(s => user.Sees(s.OrgUnit)).ToList()))
            .WithName("ListSegments").WithSummary("The segment definitions and their version");
        segments.MapPost("/preview", PreviewAsync).WithName("PreviewSegment")
            .WithSummary("How many customers a definition would hold now, and some of them, before it is saved");
        segments.MapPut("/{segmentId}", PutAsync).WithName("PutSegment")
            .WithSummary("Create or change a segment: an expression (backfilled over every customer) or a list of customer ids");
        segments.MapDelete("/{segmentId}", DeleteAsync).WithName("DeleteSegment")
            .WithSummary("Delete a segment; its members leave it as a backfill walks them");
        segments.MapGet("/{segmentId}", GetAsync).WithName("GetSegment").WithSummary("Definition, live member count and backfill progress");
        segments.MapGet("/{segmentId}/members", MembersAsync).WithName("SegmentMembers").WithSummary("Members, paged (pass next back as after)");
        segments.MapGet("/{segmentId}/statistics", StatisticsAsync).WithName("SegmentStatistics")
            .WithSummary("Size over time, mean scores, ARPU, breakdown by region and channel");
        segments.MapGet("/{segmentId}/export", ExportAsync).WithName("ExportSegment")
            .WithSummary("Every member as CSV (customerId, memberSince; with profile=true also names, e-mail, phone, region)");
        return app;
    }

    private static async Task<Results<Ok<SegmentSaved>, ValidationProblem, ProblemHttpResult>> PutAsync(string segmentId, SegmentRequest? body, IClusterClient cluster, TimeProvider clock, ClaimsPrincipal user)
    {
        if (CustomerKeys.Validate(segmentId) is { } idProblem || segmentId.Contains('/', StringComparison.Ordinal) || segmentId == "preview")
        {
            return Problems.Invalid("segmentId", CustomerKeys.Validate(segmentId) ?? (segmentId == "preview" ? "\"preview\" is reserved" : "may not contain /"));
        }

        if (string.IsNullOrWhiteSpace(body?.Name) || body.Name.Length > 200)
        {
            return Problems.Invalid("name", "is required, at most 200 characters");
        }

        if ((body.Expression is null) == (body.CustomerIds is null))
        {
            return Problems.Invalid(body.Expression is null ? "expression" : "customerIds", "give either an expression or a list of customerIds, not both");
        }

        if (body.CustomerIds is { } ids)
        {
            return await PutStaticAsync(segmentId, body.Name, ids, cluster, clock, user.OrgUnit());
        }

        if (ParseProblem(body.Expression!) is { } problem)
        {
            return problem;
        }

        SegmentDefinition? definition = null;
        await CatalogDocuments.UpdateAsync<SegmentSet>(cluster, CatalogKinds.Segments, current =>
        {
            var set = current?.Segments ?? [];
            var existing = set.FirstOrDefault(s => s.Id == segmentId);
            definition = new SegmentDefinition(segmentId, body.Name, body.Expression!, (existing?.Version ?? 0) + 1, clock.GetUtcNow(), OrgUnit: existing?.OrgUnit ?? user.OrgUnit());
            return new SegmentSet([.. set.Where(s => s.Id != segmentId), definition]);
        });
        await cluster.GetGrain<ISegmentBackfillGrain>(segmentId).StartAsync(definition!.Version);
        return TypedResults.Ok(new SegmentSaved(definition, null, null));
    }

    /// <summary>
    /// A static segment: every listed customer is stamped with this upload first (members of the previous list stay
    /// members meanwhile), then the definition switches to the new stamp, then the listed customers and whoever is a
    /// member at that moment re-evaluate, so joins and leaves go through the same outbox as every other segment. A failed upload changes
    /// nothing visible and may simply be repeated.
    /// </summary>
    internal static async Task<Results<Ok<SegmentSaved>, ValidationProblem, ProblemHttpResult>> PutStaticAsync(string segmentId, string name, string?[] listed, IClusterClient cluster, TimeProvider clock, string orgUnit = "")
    {
        if (listed.Length > MaxListedCustomers)
        {
            return Problems.Invalid("customerIds", $"at most {MaxListedCustomers:N0} ids per upload");
        }

        for (var i = 0; i < listed.Length; i++)
        {
            if (CustomerKeys.Validate(listed[i]) is { } problem)
            {
                return Problems.Invalid($"customerIds[{i}]", problem);
            }
        }

        var ids = listed.Distinct(StringComparer.Ordinal).Select(id => id!).ToArray();
        var stamp = clock.GetUtcNow().UtcTicks;
        var holders = new string?[ids.Length];
        await Parallel.ForAsync(0, ids.Length, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (i, _) =>
            holders[i] = await cluster.GetCustomer(ids[i]).ListInStaticSegmentAsync(segmentId, stamp));

        SegmentDefinition? definition = null;
        var version = await CatalogDocuments.UpdateAsync<SegmentSet>(cluster, CatalogKinds.Segments, current =>
        {
            var set = current?.Segments ?? [];
            var existing = set.FirstOrDefault(s => s.Id == segmentId);
            definition = new SegmentDefinition(segmentId, name, "", (existing?.Version ?? 0) + 1, clock.GetUtcNow(), stamp, holders.Count(h => h is not null), existing?.OrgUnit ?? orgUnit);
            return new SegmentSet([.. set.Where(s => s.Id != segmentId), definition]);
        });

        // Whoever is a member now (of an earlier list, or of an upload that overlapped this one) re-evaluates too.
        var affected = holders.OfType<string>().Union(await AllMembersAsync(cluster, segmentId), StringComparer.Ordinal).ToArray();
        await Parallel.ForAsync(0, affected.Length, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (i, _) =>
            await cluster.GetCustomer(affected[i]).ReevaluateSegmentsAsync(version));
        var unknown = ids.Where((_, i) => holders[i] is null).ToArray();
        return TypedResults.Ok(new SegmentSaved(definition!, unknown.Length, [.. unknown.Take(100)]));
    }

    private static async Task<Results<Ok<SegmentPreview>, ValidationProblem>> PreviewAsync(PreviewRequest? body, IClusterClient cluster, ClaimsPrincipal user)
    {
        if (body?.Expression is null)
        {
            return Problems.Invalid("expression", "is required");
        }

        if (body.SampleSize is < 1 or > 10_000)
        {
            return Problems.Invalid("sampleSize", "must be from 1 to 10000");
        }

        if (ParseProblem(body.Expression) is { } problem)
        {
            return problem;
        }

        var preview = await cluster.GetGrain<ISegmentReportGrain>(0).PreviewAsync(body.Expression, body.SampleSize ?? 1000);
        if (user.OrgUnit().Length == 0)
        {
            return TypedResults.Ok(preview);
        }

        // The example members shown stay inside the caller's unit (the estimate itself counts every unit).
        var units = await Task.WhenAll(preview.SampleMembers.Select(id => cluster.GetCustomer(id).GetOrgUnitAsync()));
        return TypedResults.Ok(preview with { SampleMembers = [.. preview.SampleMembers.Where((_, i) => units[i] is { } unit && user.Sees(unit))] });
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
            return NotFound();
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
            return NotFound();
        }

        var backfill = await cluster.GetGrain<ISegmentBackfillGrain>(segmentId).GetProgressAsync();
        return TypedResults.Ok(new SegmentStatus(definition, await CountAsync(cluster, segmentId), definition.IsStatic ? null : backfill));
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
            if (colon <= 0 || !int.TryParse(after[..colon], CultureInfo.InvariantCulture, out shard) || shard is < 0 or >= SegmentShards.Count)
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

    private static async Task<Results<Ok<SegmentStatistics>, ValidationProblem, ProblemHttpResult>> StatisticsAsync(string segmentId, IClusterClient cluster, int sample = 1000)
    {
        if (sample is < 1 or > 10_000)
        {
            return Problems.Invalid("sample", "must be from 1 to 10000");
        }

        if ((await ReadAsync(cluster)).All(s => s.Id != segmentId))
        {
            return NotFound();
        }

        return TypedResults.Ok(await cluster.GetGrain<ISegmentReportGrain>(0).StatisticsAsync(segmentId, sample));
    }

    /// <summary>Streams every member, shard by shard, a page at a time, so an export of any size uses little memory.</summary>
    private static async Task<IResult> ExportAsync(string segmentId, IClusterClient cluster, HttpResponse response, bool profile = false)
    {
        if ((await ReadAsync(cluster)).All(s => s.Id != segmentId))
        {
            return NotFound();
        }

        response.ContentType = "text/csv; charset=utf-8";
        response.Headers.ContentDisposition = $"attachment; filename=\"segment-{CsvCells.FileNamePart(segmentId)}.csv\"";
        await using var csv = CsvWriter.Create(response.Body, null, true);
        await csv.WriteRecordAsync(profile ? ["customerId", "memberSince", "firstName", "lastName", "email", "phone", "region"] : ["customerId", "memberSince"]);
        for (var shard = 0; shard < SegmentShards.Count; shard++)
        {
            string? after = null;
            while (true)
            {
                var page = await cluster.GetGrain<ISegmentShardGrain>(SegmentShards.Key(segmentId, shard)).MemberRowsAsync(after, 1000);
                var views = profile ? await Task.WhenAll(page.Select(m => ViewInReachAsync(cluster, m.CustomerId))) : null;
                for (var i = 0; i < page.Length; i++)
                {
                    if (views is not null && views[i] is not { } view)
                    {
                        // Gone, or moved out of the caller's unit since it joined: not exported.
                        continue;
                    }

                    var since = page[i].Since.ToString("O", CultureInfo.InvariantCulture);
                    var row = views is null
                        ? [page[i].CustomerId, since]
                        : new[] { page[i].CustomerId, since, views[i]!.FirstName, views[i]!.LastName, views[i]!.Emails.FirstOrDefault(), views[i]!.Phones.FirstOrDefault(), views[i]!.Region };

                    // A profile value a spreadsheet would run as a formula is written as text (ids and dates are the CRM's).
                    await csv.WriteRecordAsync(row.Select((v, c) => c < 2 ? v : CsvCells.Safe(v)).ToArray());
                }

                await csv.FlushAsync();
                if (page.Length < 1000)
                {
                    break;
                }

                after = page[^1].CustomerId;
            }
        }

        return Results.Empty;
    }

    private static async Task<CustomerView?> ViewInReachAsync(IClusterClient cluster, string customerId)
    {
        try
        {
            return await cluster.GetCustomer(customerId).GetViewAsync();
        }
        catch (CustomerNotFoundException)
        {
            return null;
        }
    }

    private static ValidationProblem? ParseProblem(string expression)
    {
        try
        {
            SegmentExpression.Parse(expression);
            return null;
        }
        catch (SegmentSyntaxException e)
        {
            return TypedResults.ValidationProblem(
                new Dictionary<string, string[]> { ["expression"] = [e.Message] },
                title: "The segment definition could not be read",
                extensions: new Dictionary<string, object?> { ["position"] = e.Position, ["line"] = e.Line, ["column"] = e.Column });
        }
    }

    private static async Task<long> CountAsync(IClusterClient cluster, string segmentId) =>
        (await Task.WhenAll(Enumerable.Range(0, SegmentShards.Count).Select(shard =>
            cluster.GetGrain<ISegmentShardGrain>(SegmentShards.Key(segmentId, shard)).CountAsync()))).Sum();

    private static async Task<List<string>> AllMembersAsync(IClusterClient cluster, string segmentId)
    {
        var members = new List<string>();
        for (var shard = 0; shard < SegmentShards.Count; shard++)
        {
            string? after = null;
            while (true)
            {
                var page = await cluster.GetGrain<ISegmentShardGrain>(SegmentShards.Key(segmentId, shard)).MembersAsync(after, 1000);
                members.AddRange(page);
                if (page.Length < 1000)
                {
                    break;
                }

                after = page[^1];
            }
        }

        return members;
    }

    private static ProblemHttpResult NotFound() => TypedResults.Problem(title: "Segment not found", statusCode: 404);

    /// <summary>Every segment definition (the <c>segments</c> catalog document).</summary>
    internal static async Task<List<SegmentDefinition>> ReadAsync(IClusterClient cluster) =>
        (await CatalogDocuments.ReadAsync<SegmentSet>(cluster, CatalogKinds.Segments)).Document?.Segments ?? [];

    /// <summary>Either <see cref="Expression"/> (a dynamic segment) or <see cref="CustomerIds"/> (a static list).</summary>
    public sealed record SegmentRequest(string? Name, string? Expression, string?[]? CustomerIds = null);

    public sealed record PreviewRequest(string? Expression, int? SampleSize = null);

    /// <summary>The saved definition; for a static list, how many listed ids named no recorded customer (and up to
    /// 100 of them).</summary>
    public sealed record SegmentSaved(SegmentDefinition Definition, int? UnknownCustomers, string[]? UnknownCustomerIds);

    public sealed record SegmentStatus(SegmentDefinition Definition, long Members, BackfillProgress? Backfill);

    public sealed record MembersPage(string[] Members, string? Next);
}
