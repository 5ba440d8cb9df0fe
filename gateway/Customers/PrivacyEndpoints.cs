using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using OrleansCrm.Access;
using OrleansCrm.Customers;
using OrleansCrm.Gateway.Hosting;

namespace OrleansCrm.Gateway.Customers;

/// <summary>The body of an erase request; all of it optional.</summary>
public sealed record EraseRequest(string? Reason);

/// <summary>Privacy: everything held about a customer in one document, and erasing it (docs/privacy.md).</summary>
public static class PrivacyEndpoints
{
    public const int MaxReasonLength = 500;
    private const int HistoryPage = 500;

    public static IEndpointRouteBuilder MapPrivacyEndpoints(this IEndpointRouteBuilder app)
    {
        var customers = app.MapGroup("/api/v1/customers").WithTags("Privacy");
        customers.MapGet("/{customerId}/export", ExportAsync).WithName("ExportCustomer")
            .WithSummary("Everything held about the customer, in one JSON document");
        customers.MapPost("/{customerId}/erase", EraseAsync).WithName("EraseCustomer")
            .WithSummary("Erase the customer's personal data everywhere, keeping its id and aggregates");
        return app;
    }

    private static async Task<Results<Ok<JsonObject>, ValidationProblem>> ExportAsync(
        string customerId, IClusterClient cluster, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, TimeProvider clock, CancellationToken cancellation)
    {
        if (CustomerKeys.Validate(customerId) is { } problem)
        {
            return Problems.Invalid("customerId", problem);
        }

        var customer = cluster.GetCustomer(customerId);
        var export = await customer.ExportAsync();

        // The whole history, page by page, so no single call carries an unbounded answer.
        var history = new List<HistoryItem>();
        string? cursor = null;
        do
        {
            var page = await customer.GetHistoryAsync(cursor, HistoryPage);
            history.AddRange(page.Items);
            cursor = page.Next;
        }
        while (cursor is not null);

        // Who read or changed the customer's data (the audit trail names the customer by id only).
        var audit = new List<AuditRecord>();
        long after = 0;
        while (!cancellation.IsCancellationRequested)
        {
            var records = await cluster.GetGrain<IAccessGrain>(0).QueryAuditAsync(null, export.View.CustomerId, after, 1000);
            audit.AddRange(records);
            if (records.Length < 1000)
            {
                break;
            }

            after = records[^1].Seq;
        }

        var options = json.Value.SerializerOptions;
        var document = new JsonObject
        {
            ["customerId"] = export.View.CustomerId,
            ["exportedAt"] = JsonSerializer.SerializeToNode(clock.GetUtcNow(), options),
            ["view"] = JsonSerializer.SerializeToNode(export.View, options),
            ["history"] = JsonSerializer.SerializeToNode(history, options),
            ["campaignActions"] = JsonSerializer.SerializeToNode(export.Actions, options),
            ["segmentMemberships"] = JsonSerializer.SerializeToNode(export.Segments, options),
            ["mergedCustomerIds"] = JsonSerializer.SerializeToNode(export.MergedCustomerIds, options),
            ["audit"] = JsonSerializer.SerializeToNode(audit, options),
        };
        return TypedResults.Ok(document);
    }

    private static async Task<Results<Ok<ErasureReport>, ValidationProblem>> EraseAsync(string customerId, EraseRequest? body, IClusterClient cluster)
    {
        if (CustomerKeys.Validate(customerId) is { } problem)
        {
            return Problems.Invalid("customerId", problem);
        }

        if (body?.Reason is { Length: > MaxReasonLength })
        {
            return Problems.Invalid("reason", $"must be at most {MaxReasonLength} characters");
        }

        return TypedResults.Ok(await cluster.GetCustomer(customerId).EraseAsync(body?.Reason));
    }
}
