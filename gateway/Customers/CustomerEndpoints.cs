using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCrm.Customers;
using OrleansCrm.Decisions;
using OrleansCrm.Gateway.Access;
using OrleansCrm.Gateway.Hosting;

namespace OrleansCrm.Gateway.Customers;

/// <summary>The customer API: profile, the live view, events one at a time or in NDJSON batches, history, lookup, merge.</summary>
public static class CustomerEndpoints
{
    public const int MaxEventBytes = 64 * 1024;
    public const int MaxHistoryPage = 500;

    /// <summary>The most customers a lookup by name answers (the first claimants).</summary>
    public const int MaxNameMatches = 100;

    /// <summary>The event types callers may record, with the fields each requires, for the API description.</summary>
    public static readonly string EventTypesDescription = "Event types (`type`), with the fields each requires:\n\n" + string.Join("\n",
        CustomerEventTypes.Registered.Where(t => t.AcceptedFromCallers).Select(t =>
            $"- `{t.Name}`{(t.Requires.Count == 0 ? "" : $" (requires {string.Join(", ", t.Requires.Select(f => $"`{f.Path}`"))})")}: {t.Description}"));

    /// <summary>The scores a view may carry, for the API description.</summary>
    public static readonly string ScoresDescription = "Scores (`scores`; rules may add their own):\n\n" + string.Join("\n",
        CustomerScores.All.Append(CustomerScores.ResponsePropensityByOffer).Select(s => $"- `{s.Name}`: {s.Description}"));

    public static IEndpointRouteBuilder MapCustomerEndpoints(this IEndpointRouteBuilder app)
    {
        var customers = app.MapGroup("/api/v1/customers").WithTags("Customers");
        customers.MapGet("/{customerId}", GetAsync).WithName("GetCustomer").WithSummary("The customer's live view")
            .WithDescription(ScoresDescription + "\n\n`fields` (optional, comma-separated): only these members of the view, e.g. "
                + "`fields=firstName,lastName,segments`; `customerId` is always sent. Members not asked for are not computed, so "
                + "a screen that needs no scores or next-best-action gets its answer sooner.");
        customers.MapPut("/{customerId}", UpsertAsync).WithName("UpsertCustomer").WithSummary("Create the customer or update the profile fields given");
        customers.MapPost("/{customerId}/events", PostEventAsync).WithName("PostCustomerEvent").WithSummary("Record one event for the customer")
            .Accepts<EventEnvelope>("application/json")
            .WithDescription(EventTypesDescription);
        customers.MapGet("/{customerId}/history", HistoryAsync).WithName("GetCustomerHistory").WithSummary("The customer's full history, newest first");
        customers.MapGet("/{customerId}/next-best-actions", async Task<Results<Ok<NextBestAction[]>, ValidationProblem>> (string customerId, IClusterClient cluster) =>
            CustomerKeys.Validate(customerId) is { } problem
                ? Problems.Invalid("customerId", problem)
                : TypedResults.Ok(await cluster.GetCustomer(customerId).GetNextBestActionsAsync()))
            .WithName("GetNextBestActions").WithSummary("The offers worth making now, best first, with the reason for each");
        customers.MapPost("/{customerId}/merge", MergeAsync).WithName("MergeCustomers").WithSummary("Absorb another customer into this one");

        app.MapPost("/api/v1/events", EventBatchEndpoint.PostBatchAsync).WithTags("Events").WithName("PostEventBatch")
            .WithSummary("Record a batch of events (NDJSON, one envelope with customerId per line)")
            .WithDescription(EventTypesDescription)
            .Accepts<EventEnvelope>("application/x-ndjson")
            .Produces<EventBatchEndpoint.BatchResult>(StatusCodes.Status207MultiStatus);
        app.MapGet("/api/v1/lookup", LookupAsync).WithTags("Customers").WithName("LookupCustomer")
            .WithSummary("Find customers by e-mail, phone, external id (system:id) or name (full or last; case and accents ignored)");
        return app;
    }

    private static async Task<Results<EncodedJson<CustomerView>, ProblemHttpResult, ValidationProblem>> GetAsync(string customerId, IClusterClient cluster, string? fields = null)
    {
        if (CustomerKeys.Validate(customerId) is { } problem)
        {
            return Problems.Invalid("customerId", problem);
        }

        var (members, fieldsProblem) = CustomerViewJson.ParseFields(fields);
        if (fieldsProblem is not null)
        {
            return Problems.Invalid("fields", fieldsProblem);
        }

        // Encoded by the customer, which re-encodes only what changed since its last read (CustomerViewJson).
        var view = await cluster.GetCustomer(customerId).GetViewJsonAsync(members?.ToArray());
        return view is null ? Problems.CustomerNotFound(customerId) : new EncodedJson<CustomerView>(view.Utf8);
    }

    private static async Task<Results<Ok<RecordResult>, ValidationProblem>> UpsertAsync(
        string customerId, CustomerProfile? body, HttpRequest request, IClusterClient cluster)
    {
        if (CustomerKeys.Validate(customerId) is { } problem)
        {
            return Problems.Invalid("customerId", problem);
        }

        if (body is null)
        {
            return Problems.Invalid("body", "a JSON object with the profile fields is required");
        }

        var errors = CustomerProfileRules.Validate(body).GroupBy(p => p.Field).ToDictionary(g => g.Key, g => g.Select(p => p.Problem).ToArray());
        if (body == new CustomerProfile())
        {
            errors["body"] = ["set at least one profile field"];
        }

        if (IdempotencyKey(request, out var key) is { } keyProblem)
        {
            errors["Idempotency-Key"] = [keyProblem];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var customer = cluster.GetCustomer(customerId);
        var changeId = key ?? "profile-" + Guid.NewGuid().ToString("N");
        if (PendingAudit.Of(request.HttpContext) is { } audit)
        {
            // The audit record of the change rides in the customer's commit.
            var audited = await customer.UpsertProfileAsync(body, changeId, "api", audit.Entry);
            audit.MarkStored();
            return TypedResults.Ok(audited);
        }

        return TypedResults.Ok(await customer.UpsertProfileAsync(body, changeId, "api"));
    }

    private static async Task<Results<Ok<RecordOutcome>, ProblemHttpResult, ValidationProblem>> PostEventAsync(
        string customerId, HttpRequest request, IClusterClient cluster, TimeProvider clock, bool createIfMissing = false)
    {
        if (CustomerKeys.Validate(customerId) is { } problem)
        {
            return Problems.Invalid("customerId", problem);
        }

        if (request.ContentLength > MaxEventBytes)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Event too large", detail: $"One event may be at most {MaxEventBytes} bytes; send batches to /api/v1/events.");
        }

        EventEnvelope? envelope;
        try
        {
            envelope = await JsonSerializer.DeserializeAsync<EventEnvelope>(new LimitedStream(request.Body, MaxEventBytes), Problems.Json);
        }
        catch (JsonException error)
        {
            return Problems.Invalid(Problems.JsonField(error), "could not be read as the expected type");
        }
        catch (LimitedStream.TooLargeException)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Event too large", detail: $"One event may be at most {MaxEventBytes} bytes.");
        }

        if (envelope is null)
        {
            return Problems.Invalid("body", "a JSON event is required");
        }

        if (envelope.CustomerId is not null && envelope.CustomerId != customerId)
        {
            return Problems.Invalid("customerId", "differs from the customer in the path");
        }

        var e = envelope.ToEvent();
        var errors = CustomerEventRules.ValidateFromCaller(e, clock.GetUtcNow());
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        // The audit record of the change rides in the customer's commit: one durable write for the request. An
        // integrator that needs only the acknowledgement says so (RFC 7240), and the view is neither built nor sent.
        var minimal = request.Headers["Prefer"].Any(p => p?.Contains("return=minimal", StringComparison.OrdinalIgnoreCase) == true);
        var audit = PendingAudit.Of(request.HttpContext);
        var outcome = await cluster.GetCustomer(customerId).RecordAsync([e], new RecordOptions(createIfMissing, audit?.Entry, ReturnView: !minimal));
        audit?.MarkStored();
        if (minimal)
        {
            request.HttpContext.Response.Headers["Preference-Applied"] = "return=minimal";
        }

        return TypedResults.Ok(outcome);
    }

    private static async Task<Results<Ok<HistoryPage>, ValidationProblem>> HistoryAsync(string customerId, IClusterClient cluster, string? before = null, int limit = 50)
    {
        if (CustomerKeys.Validate(customerId) is { } problem)
        {
            return Problems.Invalid("customerId", problem);
        }

        if (limit is < 1 or > MaxHistoryPage)
        {
            return Problems.Invalid("limit", $"must be from 1 to {MaxHistoryPage}");
        }

        return TypedResults.Ok(await cluster.GetCustomer(customerId).GetHistoryAsync(before, limit));
    }

    private static async Task<Results<Ok<MergeResult>, ValidationProblem>> MergeAsync(string customerId, MergeRequest? body, IClusterClient cluster)
    {
        if (CustomerKeys.Validate(customerId) is { } problem)
        {
            return Problems.Invalid("customerId", problem);
        }

        if (body?.OtherCustomerId is not { } other || CustomerKeys.Validate(other) is { })
        {
            return Problems.Invalid("otherCustomerId", body?.OtherCustomerId is null ? "is required" : CustomerKeys.Validate(body.OtherCustomerId)!);
        }

        return TypedResults.Ok(await cluster.GetCustomer(customerId).MergeAsync(other));
    }

    private static async Task<Results<Ok<LookupResult>, ValidationProblem>> LookupAsync(
        IClusterClient cluster, ClaimsPrincipal user, string? email = null, string? phone = null, string? ext = null, string? name = null)
    {
        var given = new[] { ("email", email), ("phone", phone), ("ext", ext), ("name", name) }.Where(p => !string.IsNullOrWhiteSpace(p.Item2)).ToList();
        if (given.Count != 1)
        {
            return Problems.Invalid("email", "give exactly one of email, phone, ext (system:id) or name");
        }

        var (kind, value) = given[0];
        if (value!.Length > 254)
        {
            return Problems.Invalid(kind, "must be at most 254 characters");
        }

        if (kind == "ext" && value.IndexOf(':', StringComparison.Ordinal) <= 0)
        {
            return Problems.Invalid("ext", "must be system:id");
        }

        var found = await cluster.GetGrain<ICustomerDirectoryGrain>(0).FindAsync(kind, value);
        if (kind == "name" && found.CustomerIds.Length > MaxNameMatches)
        {
            // A common name can have thousands of holders; an agent narrows by full name, phone or e-mail instead.
            found = found with { CustomerIds = found.CustomerIds[..MaxNameMatches] };
        }

        if (user.OrgUnit().Length == 0)
        {
            return TypedResults.Ok(found);
        }

        // Holders outside the caller's unit are left out, as if they did not exist.
        var units = await Task.WhenAll(found.CustomerIds.Select(id => cluster.GetCustomer(id).GetOrgUnitAsync()));
        return TypedResults.Ok(found with { CustomerIds = [.. found.CustomerIds.Where((_, i) => units[i] is { } unit && user.Sees(unit))] });
    }

    private static string? IdempotencyKey(HttpRequest request, out string? key)
    {
        key = request.Headers["Idempotency-Key"].FirstOrDefault();
        // The key becomes the profile change's event id, so the CRM's own ids are refused here too.
        return key is not null && (key.Length is 0 or > CustomerEventRules.MaxIdLength) ? $"must be 1-{CustomerEventRules.MaxIdLength} characters"
            : CustomerEventRules.ReservedIdProblem(key);
    }

    public sealed record MergeRequest(string? OtherCustomerId);
}

/// <summary>An event as integrators send it. <c>customerId</c> is required in batches and optional (but must
/// match) on the per-customer endpoint.</summary>
public sealed record EventEnvelope(
    string? EventId,
    string? CustomerId,
    string? Type,
    DateTimeOffset? OccurredAt,
    string? Source,
    string? Channel,
    EventData? Data)
{
    public CustomerEvent ToEvent() => new(EventId ?? "", Type ?? "", OccurredAt ?? default, Source, Channel, Data ?? EventData.Empty);
}
