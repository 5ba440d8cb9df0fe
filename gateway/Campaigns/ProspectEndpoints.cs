using System.Security.Cryptography;
using System.Text;
using CsvHelper;
using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCrm.Campaigns;
using OrleansCrm.Customers;
using OrleansCrm.Gateway.BulkImport;
using OrleansCrm.Gateway.Hosting;
using OrleansCrm.Gateway.Segments;

namespace OrleansCrm.Gateway.Campaigns;

/// <summary>
/// The list a prospect campaign targets: people who are not customers yet. Each row becomes a customer record
/// tagged <c>prospect</c> (profile and consents from the row), and the accepted rows become the campaign's static
/// segment, <c>prospects-&lt;campaign&gt;</c>, which the launch walks like any other. Event ids come from the row's
/// content, so uploading the same file again changes nothing; a new upload replaces the list.
/// </summary>
public static class ProspectEndpoints
{
    private const int Parallelism = 32;
    private static readonly string[] Columns = ["prospectId", "firstName", "lastName", "email", "phone", "region", "consent"];

    public static IEndpointRouteBuilder MapProspectEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPut("/api/v1/campaigns/{campaignId}/prospects", PutAsync).WithTags("Campaigns").WithName("PutProspects")
            .WithSummary("Upload a prospect campaign's list as CSV: prospectId, firstName, lastName, email, phone, region, consent (channels separated by ;)")
            .WithMetadata(new Api.DescribedBody(Unbounded: false, "text/csv")).ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Results<Ok<ProspectUpload>, ValidationProblem, ProblemHttpResult>> PutAsync(string campaignId, HttpRequest request, IClusterClient cluster, TimeProvider clock)
    {
        if (await cluster.GetGrain<ICampaignGrain>(campaignId).GetStatusAsync() is not { } status)
        {
            return TypedResults.Problem(title: "Campaign not found", statusCode: StatusCodes.Status404NotFound);
        }

        if (status.Definition.Type != CampaignTypes.Prospect)
        {
            return Problems.Invalid("campaignId", $"is a {status.Definition.Type} campaign; only a prospect campaign takes a prospect list");
        }

        if (status.State is CampaignStates.Running or CampaignStates.Paused)
        {
            return TypedResults.Problem(title: "The campaign cannot take a new list now", detail: $"campaign is {status.State}", statusCode: StatusCodes.Status409Conflict);
        }

        if (request.ContentType?.Split(';')[0].Trim() is not ("text/csv" or "application/csv"))
        {
            return Problems.Invalid("Content-Type", "must be text/csv");
        }

        var rows = new List<(long Line, string Id, CustomerEvent[] Events)>();
        var rejected = new List<ImportReject>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var now = clock.GetUtcNow();
        await using (var csv = CsvReader.Create(request.Body, new CsvReaderOptions { HasHeader = true, TrackLineNumbers = true, MaxRecordSize = 64 * 1024 }, true))
        {
            await csv.ReadHeaderAsync();
            var headers = csv.Headers.ToArray();
            if (Array.IndexOf(headers, "prospectId") < 0)
            {
                return Problems.Invalid("prospectId", "the header must name a prospectId column");
            }

            if (headers.FirstOrDefault(h => !Columns.Contains(h, StringComparer.Ordinal)) is { } unknown)
            {
                return Problems.Invalid(unknown, $"is not a prospect column ({string.Join(", ", Columns)})");
            }

            while (await csv.ReadAsync())
            {
                if (rows.Count >= SegmentEndpoints.MaxListedCustomers)
                {
                    return Problems.Invalid("body", $"at most {SegmentEndpoints.MaxListedCustomers:N0} prospects per list");
                }

                string? Get(string column) => Array.IndexOf(headers, column) is var i and >= 0 && i < csv.FieldCount && csv.GetString(i) is { Length: > 0 } v ? v.Trim() : null;
                var line = csv.LineNumber;
                var (id, events, field, problem) = Row(campaignId, status.Definition, Get, now);
                if (problem is not null)
                {
                    rejected.Add(new ImportReject(line, field!, problem));
                }
                else if (!seen.Add(id!))
                {
                    rejected.Add(new ImportReject(line, "prospectId", $"\"{id}\" is listed twice"));
                }
                else
                {
                    rows.Add((line, id!, events!));
                }
            }
        }

        var accepted = new bool[rows.Count];
        var problems = new ImportReject?[rows.Count];
        await Parallel.ForAsync(0, rows.Count, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (i, _) =>
        {
            var (line, id, events) = rows[i];
            var customer = cluster.GetCustomer(id);
            CustomerView? existing;
            try
            {
                existing = await customer.GetViewAsync();
            }
            catch (CustomerNotFoundException)
            {
                // A record of another unit: refused exactly as one of the caller's own customers is, so the answer
                // says nothing about where it lives, and the list cannot overwrite it.
                problems[i] = Taken(line, id);
                return;
            }

            if (existing is not null && !existing.Tags.Contains(CampaignTypes.ProspectTag, StringComparer.Ordinal))
            {
                problems[i] = Taken(line, id);
                return;
            }

            if (existing is null && status.Definition.OrgUnit is { Length: > 0 } unit)
            {
                // A new prospect belongs to the campaign's unit, so its list (a segment of that unit) and its makers reach it.
                events = [events[0] with { Data = events[0].Data with { Profile = events[0].Data.Profile! with { OrgUnit = unit } } }, .. events[1..]];
            }

            try
            {
                await customer.RecordEventsAsync(events, createIfMissing: true);
                accepted[i] = true;
            }
            catch (CustomerRuleException e)
            {
                problems[i] = new ImportReject(line, e.Field, e.Message);
            }
        });

        var listed = rows.Where((_, i) => accepted[i]).Select(r => (string?)r.Id).ToArray();
        var saved = await SegmentEndpoints.PutStaticAsync(CampaignTypes.ProspectSegment(campaignId), $"Prospects of {status.Definition.Name}", listed, cluster, clock, status.Definition.OrgUnit ?? "");
        if (saved.Result is not Ok<SegmentEndpoints.SegmentSaved>)
        {
            return TypedResults.Problem(title: "The prospect list could not be stored", statusCode: StatusCodes.Status500InternalServerError);
        }

        return TypedResults.Ok(new ProspectUpload(CampaignTypes.ProspectSegment(campaignId), listed.Length, [.. rejected.Concat(problems.OfType<ImportReject>()).OrderBy(r => r.Line).Take(1000)]));
    }

    private static ImportReject Taken(long line, string id) =>
        new(line, "prospectId", $"\"{id}\" is taken by a customer record; a list takes new ids or its own prospects (reach customers through a segment)");

    /// <summary>One row as events: the profile (tagged prospect) and a granted consent per listed channel for the
    /// campaign's purpose; or the field at fault.</summary>
    private static (string? Id, CustomerEvent[]? Events, string? Field, string? Problem) Row(string campaignId, CampaignDefinition campaign, Func<string, string?> get, DateTimeOffset now)
    {
        var id = get("prospectId");
        if (CustomerKeys.Validate(id) is { } idProblem)
        {
            return (null, null, "prospectId", idProblem);
        }

        var profile = new CustomerProfile(get("firstName"), get("lastName"), get("email"), get("phone"), Region: get("region"), Tags: [CampaignTypes.ProspectTag]);
        if (CustomerProfileRules.Validate(profile).FirstOrDefault() is { Field: { } field, Problem: { } problem })
        {
            return (null, null, field, problem);
        }

        var channels = (get("consent") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (channels.FirstOrDefault(c => !CustomerEventRules.Channels.Contains(c)) is { } bad)
        {
            return (null, null, "consent", $"\"{bad}\" is not a channel ({string.Join(", ", CustomerEventRules.Channels)})");
        }

        // Ids from the content: the same row uploaded again is a duplicate, a changed row is a new fact.
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\u001f', Columns.Select(c => get(c) ?? "")))))[..16];
        var at = now.AddSeconds(-1);
        CustomerEvent[] events =
        [
            new($"prospect/{campaignId}/{key}", CustomerEventTypes.ProfileChanged, at, "prospect-list", null, new EventData(Profile: profile)),
            .. channels.Select(c => new CustomerEvent($"prospect/{campaignId}/{key}/{c}", CustomerEventTypes.ConsentChanged, at, "prospect-list", c,
                new EventData(Purpose: campaign.ConsentPurpose, Granted: true))),
        ];
        return (id, events, null, null);
    }

    /// <summary>What an upload did: the list's segment, how many prospects it holds, and each rejected row with why.</summary>
    public sealed record ProspectUpload(string Segment, int Listed, ImportReject[] Rejected);
}
