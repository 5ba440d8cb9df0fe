using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCrm.Catalog;
using OrleansCrm.Customers;
using OrleansCrm.Decisions;
using OrleansCrm.Gateway.Hosting;

namespace OrleansCrm.Gateway.Decisions;

/// <summary>The rule base, the offer catalogue, offer outcomes, and model status. Each change to rules or offers
/// stores a new version of the document; silos pick it up within seconds.</summary>
public static class DecisionEndpoints
{
    public static IEndpointRouteBuilder MapDecisionEndpoints(this IEndpointRouteBuilder app)
    {
        var rules = app.MapGroup("/api/v1/rules").WithTags("Rules");
        rules.MapGet("/", async (IClusterClient cluster) => TypedResults.Ok(await CatalogDocuments.ReadAsync<RuleSet>(cluster, CatalogKinds.Rules)))
            .WithName("ListRules").WithSummary("The rule base and its version");
        rules.MapPut("/{ruleId}", PutRuleAsync).WithName("PutRule").WithSummary("Create or replace a rule (validated; a new version of the rule base)")
            .Accepts<Rule>("application/json");
        rules.MapPost("/{ruleId}/disable", (string ruleId, IClusterClient cluster) => SetEnabledAsync(cluster, ruleId, false)).WithName("DisableRule")
            .WithSummary("Stop a rule from firing (kept, and enabled again by EnableRule)");
        rules.MapPost("/{ruleId}/enable", (string ruleId, IClusterClient cluster) => SetEnabledAsync(cluster, ruleId, true)).WithName("EnableRule").WithSummary("Let a disabled rule fire again");

        var offers = app.MapGroup("/api/v1/offers").WithTags("Offers");
        offers.MapGet("/", async (IClusterClient cluster) => TypedResults.Ok(await CatalogDocuments.ReadAsync<OfferCatalog>(cluster, CatalogKinds.Offers)))
            .WithName("ListOffers").WithSummary("The offer catalogue and its version");
        offers.MapPut("/{offerId}", PutOfferAsync).WithName("PutOffer").WithSummary("Create or replace an offer").Accepts<Offer>("application/json");

        app.MapPost("/api/v1/customers/{customerId}/offers/{offerId}/outcome", RecordOutcomeAsync).WithTags("Offers")
            .WithName("RecordOfferOutcome").WithSummary("Record the customer's answer to an offer: accepted, declined or notnow");

        var models = app.MapGroup("/api/v1/models").WithTags("Models");
        models.MapGet("/", async (IClusterClient cluster) =>
        {
            var doc = await cluster.GetGrain<ICatalogGrain>(CatalogKinds.Models).GetAsync();
            var rfm = await cluster.GetGrain<ICatalogGrain>(CatalogKinds.Rfm).GetAsync();
            return TypedResults.Ok(new
            {
                version = doc.Version,
                updatedAt = doc.UpdatedAt,
                models = doc.Version == 0 ? (JsonElement?)null : JsonSerializer.Deserialize<JsonElement>(doc.Json),
                rfm = rfm.Version == 0 ? (JsonElement?)null : JsonSerializer.Deserialize<JsonElement>(rfm.Json),
            });
        }).WithName("ModelStatus").WithSummary("The models in use (version, training figures) and the RFM thresholds");
        models.MapPut("/", PutModelsAsync).WithName("PutModels").WithSummary("Install a model set (scorecards, lifetime-value parameters) as a new version")
            .Accepts<ModelSet>("application/json");
        models.MapPost("/train", async Task<Results<Ok<TrainingReport>, ValidationProblem>> (TrainRequest? body, IClusterClient cluster) =>
        {
            if (body?.Model is not ("churn" or "response" or "ltv"))
            {
                return Problems.Invalid("model", "must be churn, response or ltv");
            }

            return TypedResults.Ok(await cluster.GetGrain<IModelTrainingGrain>(0).TrainAsync(body));
        }).WithName("TrainModel").WithSummary("Train a model from the data the cluster holds and install it on every silo");
        models.MapPost("/rfm/refresh", async (IClusterClient cluster) => TypedResults.Ok(await cluster.GetGrain<IRfmGrain>(0).RefreshAsync()))
            .WithName("RefreshRfm").WithSummary("Recompute the RFM quintile thresholds from the event log now");
        return app;
    }

    private static async Task<Results<Ok<Versioned<Rule>>, ValidationProblem>> PutRuleAsync(string ruleId, HttpRequest request, IClusterClient cluster)
    {
        var body = await ReadBodyAsync(request);
        var rule = DecisionValidation.Parse<Rule>(body, out var field, out var problem);
        if (rule is null)
        {
            return Problems.Invalid(field!, problem!);
        }

        if (rule.Id is not null && rule.Id != ruleId)
        {
            return Problems.Invalid("id", "differs from the rule id in the path");
        }

        rule = rule with { Id = ruleId };
        var offers = await CatalogDocuments.ReadAsync<OfferCatalog>(cluster, CatalogKinds.Offers);
        var offerIds = (offers.Document?.Offers ?? []).Select(o => o.Id!).ToHashSet(StringComparer.Ordinal);
        var errors = DecisionValidation.ValidateRule(rule, "", offerIds);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The rule was refused");
        }

        var version = await CatalogDocuments.UpdateAsync<RuleSet>(cluster, CatalogKinds.Rules, set =>
            new RuleSet([.. (set?.Rules ?? []).Where(r => r.Id != ruleId), rule]));
        return TypedResults.Ok(new Versioned<Rule>(version, rule));
    }

    private static async Task<Results<Ok<Versioned<Rule>>, ProblemHttpResult>> SetEnabledAsync(IClusterClient cluster, string ruleId, bool enabled)
    {
        Rule? changed = null;
        var version = await CatalogDocuments.UpdateAsync<RuleSet>(cluster, CatalogKinds.Rules, set =>
        {
            var list = set?.Rules ?? [];
            changed = list.FirstOrDefault(r => r.Id == ruleId) is { } rule ? rule with { Enabled = enabled } : null;
            return changed is null ? null : new RuleSet([.. list.Select(r => r.Id == ruleId ? changed : r)]);
        });
        return changed is null
            ? TypedResults.Problem(title: "Rule not found", statusCode: 404, detail: $"No rule '{ruleId}'.")
            : TypedResults.Ok(new Versioned<Rule>(version, changed));
    }

    private static async Task<Results<Ok<Versioned<Offer>>, ValidationProblem>> PutOfferAsync(string offerId, HttpRequest request, IClusterClient cluster)
    {
        var body = await ReadBodyAsync(request);
        var offer = DecisionValidation.Parse<Offer>(body, out var field, out var problem);
        if (offer is null)
        {
            return Problems.Invalid(field!, problem!);
        }

        if (offer.Id is not null && offer.Id != offerId)
        {
            return Problems.Invalid("id", "differs from the offer id in the path");
        }

        offer = offer with { Id = offerId };
        var errors = DecisionValidation.ValidateOffer(offer, "");
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The offer was refused");
        }

        var version = await CatalogDocuments.UpdateAsync<OfferCatalog>(cluster, CatalogKinds.Offers, catalog =>
            new OfferCatalog([.. (catalog?.Offers ?? []).Where(o => o.Id != offerId), offer]));
        return TypedResults.Ok(new Versioned<Offer>(version, offer));
    }

    private static async Task<Results<Ok<RecordResult>, ValidationProblem>> RecordOutcomeAsync(
        string customerId, string offerId, OutcomeRequest? body, IClusterClient cluster, TimeProvider clock)
    {
        if (CustomerKeys.Validate(customerId) is { } idProblem)
        {
            return Problems.Invalid("customerId", idProblem);
        }

        var e = new CustomerEvent(
            body?.EventId ?? $"outcome-{Guid.NewGuid():N}",
            CustomerEventTypes.OfferOutcome,
            clock.GetUtcNow(),
            "agent",
            body?.Channel,
            new EventData(OfferId: offerId, Outcome: body?.Outcome, Agent: body?.Agent));
        var errors = CustomerEventRules.ValidateFromCaller(e, clock.GetUtcNow());
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors.ToDictionary(kv => kv.Key.Replace("data.", "", StringComparison.Ordinal), kv => kv.Value));
        }

        return TypedResults.Ok(await cluster.GetCustomer(customerId).RecordEventsAsync([e], createIfMissing: false));
    }

    private static async Task<Results<Ok<long>, ValidationProblem>> PutModelsAsync(HttpRequest request, IClusterClient cluster)
    {
        var body = await ReadBodyAsync(request);
        var models = DecisionValidation.Parse<ModelSet>(body, out var field, out var problem);
        if (models is null)
        {
            return Problems.Invalid(field!, problem!);
        }

        var doc = await cluster.GetGrain<ICatalogGrain>(CatalogKinds.Models).PutAsync(JsonSerializer.Serialize(models, DecisionJson.Options), null);
        return TypedResults.Ok(doc.Version);
    }

    private static async Task<string> ReadBodyAsync(HttpRequest request)
    {
        using var reader = new StreamReader(new LimitedStream(request.Body, 1024 * 1024));
        return await reader.ReadToEndAsync();
    }

    public sealed record OutcomeRequest(string? Outcome, string? Channel, string? EventId, string? Agent);
}
