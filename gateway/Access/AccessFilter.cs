using System.Security.Claims;
using OrleansCrm.Access;
using OrleansCrm.Campaigns;
using OrleansCrm.Catalog;
using OrleansCrm.Customers;
using OrleansCrm.Decisions;
using OrleansCrm.Gateway.Hosting;

namespace OrleansCrm.Gateway.Access;

/// <summary>
/// The second gate, after <see cref="PathAccess"/> checked credentials and role: 404 for a customer, segment or
/// campaign outside the caller's organisation unit (its existence is not revealed), 403 for bulk operations by a
/// caller below the root. Refusals, customer reads and changes are written to the audit trail before the answer
/// leaves.
/// </summary>
public static class AccessFilter
{
    /// <summary>Added to the API's route group; the policy is looked up by the endpoint's name.</summary>
    public static EndpointFilterDelegate Create(EndpointFilterFactoryContext factory, EndpointFilterDelegate next)
    {
        return async context =>
        {
            // Every endpoint of the group has an entry: CheckPolicies stopped the start otherwise.
            var name = context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? "";
            var policy = EndpointPolicies.Table[name];

            var http = context.HttpContext;
            var user = http.User;
            var audit = http.RequestServices.GetRequiredService<AuditTrail>();
            var customerId = http.Request.RouteValues.TryGetValue("customerId", out var c) ? c as string : null;

            // The caller's unit travels with every grain call this request leads to: the customer grain applies the
            // unit rule on every path (an event, a merge, a prospect list, a preview), not only on the routes below.
            CallerReach.Set(user.OrgUnit());
            if (await OutOfReachAsync(policy.Scope, context, user) is { } refusal)
            {
                await audit.RecordAsync(http, name, customerId, refusal.StatusCode ?? 404, refusal.StatusCode == 403 ? "refused" : "out-of-unit");
                return refusal;
            }

            // Only an answer the idempotency middleware keeps needs its subjects noted; reads never are.
            if (Api.IdempotencyMiddleware.Keeps(http.Request))
            {
                if (customerId is not null)
                {
                    Api.KeptAnswerSubjects.Add(http, customerId);
                }

                foreach (var argument in context.Arguments)
                {
                    if (argument is Customers.CustomerEndpoints.MergeRequest { OtherCustomerId: { } other })
                    {
                        Api.KeptAnswerSubjects.Add(http, other);
                    }
                }
            }

            PendingAudit? pending = null;
            if (policy.Audit == Audit.Change)
            {
                var clock = http.RequestServices.GetRequiredService<TimeProvider>();
                pending = new PendingAudit(new AuditEntry(clock.GetUtcNow(), user.Actor(), name, $"{http.Request.Method} {http.Request.Path}", customerId,
                    StatusCodes.Status200OK, "allowed", http.TraceIdentifier, AuditEntry.NewId()));
                PendingAudit.Attach(http, pending);
            }

            object? result;
            try
            {
                result = await next(context);
            }
            catch (Exception e) when (policy.Audit != Audit.None && e is not OperationCanceledException)
            {
                // The exception handler answers it; the trail records how the request ended all the same.
                await audit.RecordAsync(http, name, customerId, Hosting.GatewayExtensions.ClusterExceptionHandler.Describe(e).Status, "failed", wait: policy.Audit == Audit.Change);
                throw;
            }

            var status = StatusOf(result);
            if (pending is { Stored: true } && status == pending.Entry.Status)
            {
                // Stored with the change, in the same commit.
                return result;
            }

            if (policy.Audit != Audit.None)
            {
                // A change is answered after its record is committed; a read once its record is queued.
                await audit.RecordAsync(http, name, customerId, status, status < 400 ? "allowed" : "failed", wait: policy.Audit == Audit.Change);
            }

            return result;
        };
    }

    private static int StatusOf(object? result) => result switch
    {
        INestedHttpResult nested => StatusOf(nested.Result),
        IStatusCodeHttpResult { StatusCode: { } code } => code,
        _ => StatusCodes.Status200OK,
    };

    /// <summary>Stops the gateway from starting when an endpoint under <c>/api</c> has no policy, so none exists
    /// without a decision about who may call it.</summary>
    public static void CheckPolicies(IEndpointRouteBuilder app)
    {
        var missing = app.DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
            .Select(e => e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? e.RoutePattern.RawText!)
            .Where(n => !EndpointPolicies.Table.ContainsKey(n) && n is not (AccessEndpoints.IssueToken or AccessEndpoints.StartSession))
            .ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException($"Endpoint(s) {string.Join(", ", missing)} have no entry in EndpointPolicies: decide who may call them.");
        }
    }

    /// <summary>The answer when the resource the route names lies outside the caller's unit, else null. May adjust
    /// a new customer's or campaign's body to the caller's unit.</summary>
    private static async Task<ProblemHttpResultLike?> OutOfReachAsync(Scope scope, EndpointFilterInvocationContext context, ClaimsPrincipal user)
    {
        var http = context.HttpContext;
        var cluster = http.RequestServices.GetRequiredService<IClusterClient>();
        var route = http.Request.RouteValues;
        switch (scope)
        {
            case Scope.Agent when route.TryGetValue("agentId", out var raw) && raw is string agentId && agentId != user.Actor()
                && !user.IsInRole(Roles.Administrator):
            {
                if (!user.IsInRole(Roles.CampaignManager))
                {
                    return new ProblemHttpResultLike(403, "Not allowed", "Agents work on their own call list only.");
                }

                // A campaign manager reaches the call lists of the agents of their unit: an agent is a user, and a user
                // of another unit (or no user at all) is answered alike.
                if (user.OrgUnit().Length > 0 && (await cluster.GetGrain<IAccessGrain>(0).FindUserAsync(agentId) is not { } agent || !user.Sees(agent.OrgUnit)))
                {
                    return new ProblemHttpResultLike(404, "Agent not found", $"No agent '{agentId}' in your organisation unit.");
                }

                return null;
            }

            case Scope.Organisation when user.OrgUnit().Length > 0:
                return new ProblemHttpResultLike(403, "Not allowed", "Bulk operations over many customers need a caller of the whole organisation (org unit \"\").");
            // A caller of the whole organisation reaches every customer: no look-up, no extra grain call.
            case Scope.Customer when user.OrgUnit().Length > 0 && route.TryGetValue("customerId", out var raw) && raw is string id && CustomerKeys.Validate(id) is null:
            {
                var unit = await cluster.GetCustomer(id).GetOrgUnitAsync();
                if (unit is not null && !user.Sees(unit))
                {
                    return new ProblemHttpResultLike(404, "Customer not found", $"No customer with id '{id}' was recorded.");
                }

                for (var i = 0; i < context.Arguments.Count; i++)
                {
                    switch (context.Arguments[i])
                    {
                        case CustomerProfile { OrgUnit: { } given } when !user.Sees(given):
                            return new ProblemHttpResultLike(403, "Not allowed", $"orgUnit \"{given}\" is outside your organisation unit \"{user.OrgUnit()}\".");
                        case CustomerProfile { OrgUnit: null } profile when unit is null && user.OrgUnit().Length > 0:
                            // A new customer made by someone of a unit belongs to that unit, so its maker keeps seeing it.
                            context.Arguments[i] = profile with { OrgUnit = user.OrgUnit() };
                            break;
                        case Customers.CustomerEndpoints.MergeRequest { OtherCustomerId: { } other } when CustomerKeys.Validate(other) is null
                            && await cluster.GetCustomer(other).GetOrgUnitAsync() is { } otherUnit && !user.Sees(otherUnit):
                            return new ProblemHttpResultLike(404, "Customer not found", $"No customer with id '{other}' was recorded.");
                    }
                }

                return null;
            }

            case Scope.Segment when route.TryGetValue("segmentId", out var raw) && raw is string id:
            {
                var set = await Segments.SegmentEndpoints.ReadAsync(cluster);
                var segment = set.FirstOrDefault(s => s.Id == id);
                return segment is not null && !user.Sees(segment.OrgUnit)
                    ? new ProblemHttpResultLike(404, "Segment not found", $"No segment '{id}'.")
                    : null;
            }

            case Scope.Campaign when route.TryGetValue("campaignId", out var raw) && raw is string id:
            {
                var status = await cluster.GetGrain<ICampaignGrain>(id).GetStatusAsync();
                if (status is not null && !user.Sees(status.Definition.OrgUnit))
                {
                    return new ProblemHttpResultLike(404, "Campaign not found", $"No campaign '{id}'.");
                }

                for (var i = 0; i < context.Arguments.Count; i++)
                {
                    if (context.Arguments[i] is CampaignDefinition definition)
                    {
                        // A campaign reaches only segments its maker can see.
                        var set = await Segments.SegmentEndpoints.ReadAsync(cluster);
                        var hidden = (definition.Segments ?? []).Concat(definition.ExcludeSegments ?? [])
                            .FirstOrDefault(s => set.FirstOrDefault(d => d.Id == s) is { } d && !user.Sees(d.OrgUnit));
                        if (hidden is not null)
                        {
                            return new ProblemHttpResultLike(404, "Segment not found", $"No segment '{hidden}'.");
                        }

                        // The campaign keeps the unit it was made in; a body cannot move it.
                        context.Arguments[i] = definition with { OrgUnit = status?.Definition.OrgUnit ?? user.OrgUnit() };
                    }
                }

                return null;
            }

            default:
                return null;
        }
    }
}

/// <summary>A problem answer whose status the filter can read before returning it.</summary>
public sealed class ProblemHttpResultLike(int status, string title, string detail) : IResult, IStatusCodeHttpResult
{
    public int? StatusCode => status;

    public Task ExecuteAsync(HttpContext httpContext) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: status).ExecuteAsync(httpContext);
}
