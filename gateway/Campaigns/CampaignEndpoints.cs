using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCrm.Campaigns;
using OrleansCrm.Catalog;
using OrleansCrm.Customers;
using OrleansCrm.Gateway.Access;
using OrleansCrm.Gateway.Hosting;

namespace OrleansCrm.Gateway.Campaigns;

/// <summary>Campaigns: define (validated, templates included), launch, pause, resume, cancel, progress; and the pull
/// feed of the actions they emitted.</summary>
public static class CampaignEndpoints
{
    public static IEndpointRouteBuilder MapCampaignEndpoints(this IEndpointRouteBuilder app)
    {
        var campaigns = app.MapGroup("/api/v1/campaigns").WithTags("Campaigns");
        campaigns.MapGet("/", ListAsync).WithName("ListCampaigns").WithSummary("The campaigns of the caller's organisation unit, with state and live counters");
        campaigns.MapPut("/{campaignId}", DefineAsync).WithName("PutCampaign").WithSummary("Create or change a campaign that is not running")
            .ProducesProblem(StatusCodes.Status409Conflict);
        campaigns.MapGet("/{campaignId}", GetAsync).WithName("GetCampaign").WithSummary("Definition, state and live counters");
        campaigns.MapGet("/{campaignId}/results", async Task<Results<Ok<CampaignResults>, ProblemHttpResult>> (string campaignId, IClusterClient cluster) =>
                await cluster.GetGrain<ICampaignGrain>(campaignId).GetResultsAsync() is { } results
                    ? TypedResults.Ok(results)
                    : TypedResults.Problem(title: "Campaign not found", statusCode: StatusCodes.Status404NotFound))
            .WithName("CampaignResults").WithSummary("Responses, conversions, revenue, uplift against the control group, cost and ROI");
        foreach (var (verb, summary, call) in new (string, string, Func<ICampaignGrain, Task<CampaignStatus>>)[]
        {
            ("launch", "Start a defined campaign that is not running: each targeted customer decides its action", c => c.LaunchAsync()),
            ("pause", "Pause a running or scheduled campaign (409 in any other state)", c => c.PauseAsync()),
            ("resume", "Resume a paused campaign (running again, or scheduled between runs)", c => c.ResumeAsync()),
            ("cancel", "Cancel a running, paused or scheduled campaign for good (its schedule stops)", c => c.CancelAsync()),
        })
        {
            campaigns.MapPost($"/{{campaignId}}/{verb}", (string campaignId, IClusterClient cluster) => ControlAsync(campaignId, cluster, call))
                .WithName($"Campaign{char.ToUpperInvariant(verb[0])}{verb[1..]}").WithSummary(summary);
        }

        app.MapPut("/api/v1/webhook", PutWebhookAsync).WithTags("Campaigns").WithName("PutWebhook")
            .WithSummary("Where actions are pushed (url) and the secret that signs them; enabled false stops pushing");
        app.MapGet("/api/v1/actions", FeedAsync).WithTags("Campaigns").WithName("ActionFeed")
            .WithSummary("Campaign actions in the order they were stored; pass next back as after")
            .WithDescription("""
                A cursor feed of the actions campaigns released, for integrators that pull rather than receive the webhook.
                Start without `after` (or with `0`); each page holds up to `limit` (1–1000, default 100) actions, and its
                `next` is the cursor to pass as `after` for the following page. Store `next` once a page's actions are
                handled: reading on from it neither skips nor repeats an action, even when transactions commit out of
                order (an action whose transaction is still open is held back until it commits). An empty page means
                the reader is caught up; its `next` is where to ask again. `campaignId` reads one campaign's actions.
                Each action carries its `idempotencyKey` (the same one the webhook sends) and its `deliveryState`.
                """);
        return app;
    }

    /// <summary>Every campaign the caller's unit reaches, newest saved first, with state and live counters.</summary>
    private static async Task<Ok<CampaignStatus[]>> ListAsync(IClusterClient cluster, ClaimsPrincipal user)
    {
        var index = (await CatalogDocuments.ReadAsync<CampaignIndex>(cluster, CatalogKinds.Campaigns)).Document?.Campaigns ?? [];
        var visible = index.Where(c => user.Sees(c.OrgUnit)).OrderByDescending(c => c.SavedAt).ToList();
        var statuses = await Task.WhenAll(visible.Select(c => cluster.GetGrain<ICampaignGrain>(c.Id).GetProgressAsync()));
        return TypedResults.Ok(statuses.OfType<CampaignStatus>().ToArray());
    }

    private static async Task<Results<Ok<CampaignStatus>, ValidationProblem, ProblemHttpResult>> DefineAsync(string campaignId, CampaignDefinition? body, IClusterClient cluster, TimeProvider clock)
    {
        if (CustomerKeys.Validate(campaignId) is { } idProblem)
        {
            return Problems.Invalid("campaignId", idProblem);
        }

        var errors = CampaignValidation.Validate(body);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The campaign definition is not valid");
        }

        try
        {
            var status = await cluster.GetGrain<ICampaignGrain>(campaignId).DefineAsync(body!);
            await CatalogDocuments.UpdateAsync<CampaignIndex>(cluster, CatalogKinds.Campaigns, current =>
            {
                var entries = current?.Campaigns ?? [];
                return new CampaignIndex([.. entries.Where(c => c.Id != campaignId), new CampaignIndexEntry(campaignId, body!.Name, body.Type, body.OrgUnit, clock.GetUtcNow())]);
            });
            return TypedResults.Ok(status);
        }
        catch (CampaignValidationException e)
        {
            return TypedResults.ValidationProblem(e.Errors, title: "The campaign definition is not valid");
        }
        catch (CampaignStateException e)
        {
            return TypedResults.Problem(title: "The campaign cannot be changed now", detail: e.Message, statusCode: StatusCodes.Status409Conflict);
        }
    }

    private static async Task<Results<Ok<CampaignStatus>, ProblemHttpResult>> GetAsync(string campaignId, IClusterClient cluster) =>
        await cluster.GetGrain<ICampaignGrain>(campaignId).GetProgressAsync() is { } status
            ? TypedResults.Ok(status)
            : TypedResults.Problem(title: "Campaign not found", statusCode: StatusCodes.Status404NotFound);

    private static async Task<Results<Ok<CampaignStatus>, ProblemHttpResult>> ControlAsync(string campaignId, IClusterClient cluster, Func<ICampaignGrain, Task<CampaignStatus>> call)
    {
        var campaign = cluster.GetGrain<ICampaignGrain>(campaignId);
        if (await campaign.GetStatusAsync() is null)
        {
            return TypedResults.Problem(title: "Campaign not found", statusCode: StatusCodes.Status404NotFound);
        }

        try
        {
            return TypedResults.Ok(await call(campaign));
        }
        catch (CampaignStateException e)
        {
            return TypedResults.Problem(title: "The campaign cannot do that now", detail: e.Message, statusCode: StatusCodes.Status409Conflict);
        }
    }

    private static async Task<Results<NoContent, ValidationProblem>> PutWebhookAsync(WebhookSettings? body, IClusterClient cluster)
    {
        if (!Uri.TryCreate(body?.Url, UriKind.Absolute, out var url) || !(url.Scheme == Uri.UriSchemeHttps || (url.Scheme == Uri.UriSchemeHttp && url.IsLoopback)))
        {
            return Problems.Invalid("url", "must be an absolute https URL (plain http only to a loopback address)");
        }

        if (string.IsNullOrEmpty(body!.Secret) || body.Secret.Length < 16)
        {
            return Problems.Invalid("secret", "is required, at least 16 characters");
        }

        await CatalogDocuments.UpdateAsync<WebhookSettings>(cluster, OrleansCrm.Catalog.CatalogKinds.Webhook, _ => body);
        await cluster.GetGrain<IWebhookDeliveryGrain>(0).EnsureRunningAsync();
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<ActionPage>, ValidationProblem>> FeedAsync(IClusterClient cluster, string? after = null, int limit = 100, string? campaignId = null)
    {
        if (limit is < 1 or > 1000)
        {
            return Problems.Invalid("limit", "must be from 1 to 1000");
        }

        if (!FeedCursor.TryParse(after, out var cursor))
        {
            return Problems.Invalid("after", "must be the next value of a previous page (omit it, or 0, to start)");
        }

        var page = await cluster.GetGrain<ICampaignFeedGrain>(0).ReadAsync(cursor, limit, campaignId);
        return TypedResults.Ok(new ActionPage(page.Actions, page.Next.ToString()));
    }

    /// <summary>A page of the feed; <see cref="Next"/> is what to pass as <c>after</c> for the following page (the
    /// same value when nothing new was released yet).</summary>
    public sealed record ActionPage(CampaignAction[] Actions, string Next);
}
