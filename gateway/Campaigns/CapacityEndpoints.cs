using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using OrleansCrm.Campaigns;
using OrleansCrm.Catalog;
using OrleansCrm.Gateway.Hosting;

namespace OrleansCrm.Gateway.Campaigns;

/// <summary>Daily capacity per channel, the agents who work call lists, and each agent's list for a day.</summary>
public static class CapacityEndpoints
{
    public static IEndpointRouteBuilder MapCapacityEndpoints(this IEndpointRouteBuilder app)
    {
        var capacity = app.MapGroup("/api/v1/capacity").WithTags("Campaigns");
        capacity.MapGet("/", async (IClusterClient cluster) =>
                TypedResults.Ok((await CatalogDocuments.ReadAsync<CapacitySettings>(cluster, CatalogKinds.Capacity)).Document ?? new CapacitySettings()))
            .WithName("GetCapacity").WithSummary("Daily limits per channel and the agents with their daily quotas");
        capacity.MapPut("/", PutAsync).WithName("PutCapacity")
            .WithSummary("Replace the daily limits per channel and the agents; a channel not named has no limit");
        capacity.MapPost("/plan", PlanAsync).WithName("PlanCapacity")
            .WithSummary("Plan a day now (today by default; a later day fills its call lists ahead from what waits)");

        var agents = app.MapGroup("/api/v1/agents").WithTags("Campaigns");
        agents.MapGet("/{agentId}/calls", CallsAsync).WithName("CallList").WithSummary("An agent's call list for a day (today by default), highest priority first");
        agents.MapPost("/{agentId}/calls/{sequence:long}/done", DoneAsync).WithName("CallDone").WithSummary("Mark a call on the agent's list as made");
        return app;
    }

    private static async Task<Results<Ok<CapacitySettings>, ValidationProblem>> PutAsync(CapacitySettings? body, IClusterClient cluster)
    {
        if (body is null)
        {
            return Problems.Invalid("body", "is required");
        }

        var errors = body.Validate();
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The capacity settings are not valid");
        }

        await CatalogDocuments.UpdateAsync<CapacitySettings>(cluster, CatalogKinds.Capacity, _ => body);

        // Applied now rather than at the planner's next round, so actions stored from here on wait or go as set.
        await cluster.GetGrain<ICapacityPlannerGrain>(0).PlanAsync(null);
        return TypedResults.Ok(body);
    }

    private static async Task<Results<Ok<Dictionary<string, int>>, ValidationProblem>> PlanAsync(IClusterClient cluster, string? day = null)
    {
        if (!TryDay(day, out var date))
        {
            return Problems.Invalid("day", "must be a date, yyyy-MM-dd");
        }

        return TypedResults.Ok(await cluster.GetGrain<ICapacityPlannerGrain>(0).PlanAsync(date));
    }

    private static async Task<Results<Ok<CallList>, ValidationProblem, ProblemHttpResult>> CallsAsync(string agentId, IClusterClient cluster, TimeProvider clock, string? day = null)
    {
        if (!TryDay(day, out var date))
        {
            return Problems.Invalid("day", "must be a date, yyyy-MM-dd");
        }

        var settings = (await CatalogDocuments.ReadAsync<CapacitySettings>(cluster, CatalogKinds.Capacity)).Document ?? new CapacitySettings();
        if ((settings.Agents ?? []).FirstOrDefault(a => a.Id == agentId) is not { } agent)
        {
            return TypedResults.Problem(title: "Agent not found", detail: $"No agent '{agentId}' in the capacity settings.", statusCode: StatusCodes.Status404NotFound);
        }

        var planned = date?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? settings.Day(clock.GetUtcNow());
        var calls = await cluster.GetGrain<ICallListGrain>(0).ReadAsync(agentId, planned);
        return TypedResults.Ok(new CallList(agent.Id, agent.Name, planned, agent.DailyQuota, calls));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DoneAsync(string agentId, long sequence, IClusterClient cluster) =>
        await cluster.GetGrain<ICallListGrain>(0).CompleteAsync(agentId, sequence)
            ? TypedResults.NoContent()
            : TypedResults.Problem(title: "Call not found", detail: $"Action {sequence} is not on the call list of agent '{agentId}'.", statusCode: StatusCodes.Status404NotFound);

    private static bool TryDay(string? text, out DateOnly? day)
    {
        day = null;
        if (text is null)
        {
            return true;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
        {
            day = parsed;
            return true;
        }

        return false;
    }

    /// <summary>An agent's calls for a day and their daily quota.</summary>
    public sealed record CallList(string AgentId, string? Name, string Day, int DailyQuota, IReadOnlyList<CallListEntry> Calls);
}
