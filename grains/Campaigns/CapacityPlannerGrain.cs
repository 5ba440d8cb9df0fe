using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansCrm.Catalog;
using OrleansCrm.Decisions;

namespace OrleansCrm.Campaigns;

/// <summary>
/// Gives each day's capacity to the actions waiting for it (docs/campaigns.md, "Capacity and call lists"). Every two
/// seconds: mirror the capacity settings' limited channels into <c>crm_channel_limits</c> (so new actions on them
/// wait), then for each channel with waiting actions release what still fits today, highest priority first; on a
/// channel worked by agents, each agent's share up to their quota. The database is the record of what was planned,
/// so the planner holds no state of its own and a second activation after a failover plans the same.
/// </summary>
[GrainType("capacity-planner")]
public sealed class CapacityPlannerGrain(ICampaignActionStore store, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<CapacityPlannerGrain> logger) : Grain, ICapacityPlannerGrain, IRemindable
{
    private IGrainTimer? _timer;
    private long _limitsVersion = -1;

    public async Task EnsureRunningAsync()
    {
        await this.RegisterOrUpdateReminder("keep-alive", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        _timer ??= this.RegisterGrainTimer(_ => lifetime.RunUnlessStoppingAsync(() => PlanAsync(null), logger, "Capacity planning"), new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromSeconds(2)) { KeepAlive = true });
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => EnsureRunningAsync();

    public async Task<Dictionary<string, int>> PlanAsync(DateOnly? day)
    {
        var document = await GrainFactory.GetGrain<ICatalogGrain>(CatalogKinds.Capacity).GetAsync();
        var settings = document.Version == 0 ? new CapacitySettings() : JsonSerializer.Deserialize<CapacitySettings>(document.Json, DecisionJson.Options) ?? new CapacitySettings();
        var limits = settings.DailyLimits();
        if (document.Version != _limitsVersion)
        {
            await store.SetChannelLimitsAsync(limits);
            _limitsVersion = document.Version;
        }

        var planned = day?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? settings.Day(clock.GetUtcNow());
        var released = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var channel in await store.WaitingChannelsAsync())
        {
            var count = limits.TryGetValue(channel, out var limit)
                ? await ReleaseChannelAsync(channel, planned, limit, (settings.Agents ?? []).Where(a => a.Channel == channel).ToArray())
                : await ReleaseAllAsync(channel, planned);
            if (count > 0)
            {
                released[channel] = count;
                logger.LogInformation("Capacity planner released {Count} {Channel} actions for {Day}", count, channel, planned);
            }
        }

        return released;
    }

    /// <summary>What still fits on a limited channel today: split across its agents by their remaining quota (in the
    /// order the settings list them), or as one pool.</summary>
    private async Task<int> ReleaseChannelAsync(string channel, string day, int limit, CapacityAgent[] agents)
    {
        var (total, perAgent) = await store.PlannedAsync(channel, day);
        var free = Math.Max(0, limit - total);
        if (agents.Length == 0)
        {
            return await store.ReleaseAsync(channel, day, null, Math.Min(free, Batch));
        }

        var released = 0;
        foreach (var agent in agents)
        {
            var share = Math.Min(Math.Min(free - released, agent.DailyQuota - perAgent.GetValueOrDefault(agent.Id)), Batch);
            if (share > 0)
            {
                var count = await store.ReleaseAsync(channel, day, agent.Id, share);
                released += count;
                if (count < share)
                {
                    break;
                }
            }
        }

        return released;
    }

    /// <summary>A channel that lost its limit: everything waiting on it goes now.</summary>
    private async Task<int> ReleaseAllAsync(string channel, string day)
    {
        var released = 0;
        int count;
        do
        {
            count = await store.ReleaseAsync(channel, day, null, Batch);
            released += count;
        }
        while (count == Batch);
        return released;
    }

    /// <summary>At most this many actions per channel and agent in one round, so a large day goes out in steps.</summary>
    private const int Batch = 1000;
}

/// <summary>Agents' call lists, straight from the outbox.</summary>
[Orleans.Concurrency.StatelessWorker]
[GrainType("call-lists")]
public sealed class CallListGrain(ICampaignActionStore store, TimeProvider clock) : Grain, ICallListGrain
{
    public async Task<CallListEntry[]> ReadAsync(string agentId, string day) => [.. await store.CallListAsync(agentId, day)];

    public Task<bool> CompleteAsync(string agentId, long sequence) => store.CompleteCallAsync(agentId, sequence, clock.GetUtcNow());
}
