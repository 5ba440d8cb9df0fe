namespace OrleansCrm.Campaigns;

/// <summary>
/// How much the organisation can send or call per day (the <c>capacity</c> catalog document): a daily limit per
/// channel, and the agents who work a channel's call list with each one's daily quota. A channel worked by agents
/// takes at most the sum of their quotas a day (and its own limit when it has one too). Days are counted in
/// <see cref="TimeZone"/>. A channel not named here has no limit.
/// </summary>
public sealed record CapacitySettings(
    Dictionary<string, int>? Channels = null,
    CapacityAgent[]? Agents = null,
    string? TimeZone = null)
{
    public const int MaxAgents = 5000;

    /// <summary>Each limited channel's capacity per day: its own limit, the agents' quotas, or the smaller of both.</summary>
    public Dictionary<string, int> DailyLimits()
    {
        var limits = new Dictionary<string, int>(Channels ?? [], StringComparer.Ordinal);
        foreach (var group in (Agents ?? []).GroupBy(a => a.Channel, StringComparer.Ordinal))
        {
            var quotas = group.Sum(a => a.DailyQuota);
            limits[group.Key] = limits.TryGetValue(group.Key, out var own) ? Math.Min(own, quotas) : quotas;
        }

        return limits;
    }

    /// <summary>The day <paramref name="now"/> falls on where capacity is counted, as the outbox keeps it (yyyy-MM-dd).</summary>
    public string Day(DateTimeOffset now) =>
        DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, CampaignValidation.TimeZoneOf(TimeZone) ?? TimeZoneInfo.Utc).DateTime)
            .ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Problems by field name (<c>channels.phone</c>, <c>agents[2].dailyQuota</c>); empty when valid.</summary>
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (channel, limit) in Channels ?? [])
        {
            if (!CampaignChannels.All.Contains(channel, StringComparer.Ordinal))
            {
                errors[$"channels.{channel}"] = [$"is not a channel ({string.Join(", ", CampaignChannels.All)})"];
            }
            else if (limit < 0)
            {
                errors[$"channels.{channel}"] = ["must be 0 or more actions a day"];
            }
        }

        var agents = Agents ?? [];
        if (agents.Length > MaxAgents)
        {
            errors["agents"] = [$"at most {MaxAgents} agents"];
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < agents.Length; i++)
        {
            var a = agents[i];
            if (a is null || string.IsNullOrWhiteSpace(a.Id) || a.Id.Length > 100 || a.Id.Contains('/', StringComparison.Ordinal))
            {
                errors[$"agents[{i}].id"] = ["is required, at most 100 characters, without /"];
                continue;
            }

            if (!seen.Add(a.Id))
            {
                errors[$"agents[{i}].id"] = [$"\"{a.Id}\" is listed twice"];
            }

            if (a.DailyQuota is < 0 or > 100_000)
            {
                errors[$"agents[{i}].dailyQuota"] = ["must be from 0 to 100000 a day"];
            }

            if (!CampaignChannels.All.Contains(a.Channel, StringComparer.Ordinal))
            {
                errors[$"agents[{i}].channel"] = [$"is not a channel ({string.Join(", ", CampaignChannels.All)})"];
            }
        }

        if (TimeZone is not null && CampaignValidation.TimeZoneOf(TimeZone) is null)
        {
            errors["timeZone"] = [$"\"{TimeZone}\" is not a known time zone"];
        }

        return errors;
    }
}

/// <summary>An agent who works a channel's call list (phone by default), with the number of actions a day they take.</summary>
public sealed record CapacityAgent(string Id, int DailyQuota, string? Name = null, string Channel = "phone");

/// <summary>
/// The capacity planner, one for the cluster: every few seconds (and whenever asked) it gives today's free capacity
/// on each limited channel to the waiting actions, highest priority first, and splits a channel worked by agents
/// across them by their quotas. What does not fit waits for the next day. A reminder keeps it running.
/// </summary>
[Alias("crm.ICapacityPlannerGrain")]
public interface ICapacityPlannerGrain : IGrainWithIntegerKey
{
    [Alias("EnsureRunning")]
    Task EnsureRunningAsync();

    /// <summary>Plans <paramref name="day"/> (today when null) now and answers what was released per channel. Planning
    /// a later day ahead (tomorrow's call lists the evening before) gives that day's capacity to what waits now.</summary>
    [Alias("Plan")]
    Task<Dictionary<string, int>> PlanAsync(DateOnly? day);
}

/// <summary>One line of an agent's call list.</summary>
[GenerateSerializer, Immutable, Alias("crm.CallListEntry")]
public sealed record CallListEntry(long Sequence, string CampaignId, string CustomerId, string? Subject, string Body, int Priority, string DeliveryState);

/// <summary>Agents' call lists, read from and marked in the action outbox.</summary>
[Alias("crm.ICallListGrain")]
public interface ICallListGrain : IGrainWithIntegerKey
{
    /// <summary>The agent's calls planned for <paramref name="day"/> (yyyy-MM-dd), highest priority first.</summary>
    [Alias("Read")]
    Task<CallListEntry[]> ReadAsync(string agentId, string day);

    /// <summary>Marks a call on the agent's list as made; false when it is not on that agent's list.</summary>
    [Alias("Complete")]
    Task<bool> CompleteAsync(string agentId, long sequence);
}
