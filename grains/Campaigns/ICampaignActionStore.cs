namespace OrleansCrm.Campaigns;

/// <summary>The durable outbox of campaign actions (<c>crm_campaign_actions</c>).</summary>
public interface ICampaignActionStore
{
    /// <summary>Stores the action unless its idempotency key is already there; true when this call stored it. On a
    /// channel with a daily limit the action waits for the capacity planner; otherwise it is released at once.</summary>
    Task<bool> AddAsync(CampaignAction action);

    /// <summary>Released actions in the order they were released, after <paramref name="after"/>; optionally one
    /// campaign's. On PostgreSQL only releases older than every running transaction are read, so a cursor never
    /// passes an action that commits later.</summary>
    Task<FeedPage> ReadAsync(FeedCursor after, int limit, string? campaignId);

    /// <summary>Per kind of exposure (<c>campaign.contact</c> or <c>campaign.holdout</c>), channel and target segment:
    /// customers, those who responded and who bought within <paramref name="attributionDays"/> after it, and what
    /// they spent then.</summary>
    Task<IReadOnlyList<ExposureResult>> ResultsAsync(string campaignId, int attributionDays);

    /// <summary>Released actions waiting for the webhook whose next attempt is due, in the order they were stored,
    /// with the attempts made so far. Actions on an agent's call list are not pushed.</summary>
    Task<IReadOnlyList<(CampaignAction Action, int Attempts)>> DueForDeliveryAsync(DateTimeOffset now, int limit);

    /// <summary>Records a batch's delivery attempts in one statement: each delivered, failed for good, or pending again
    /// from its <see cref="DeliveryAttempt.NextAttemptAt"/>.</summary>
    Task RecordDeliveriesAsync(IReadOnlyList<DeliveryAttempt> attempts);

    /// <summary>Replaces the set of limited channels new actions wait on.</summary>
    Task SetChannelLimitsAsync(IReadOnlyDictionary<string, int> limits);

    /// <summary>Channels that have actions waiting for capacity.</summary>
    Task<IReadOnlyList<string>> WaitingChannelsAsync();

    /// <summary>How many actions of <paramref name="channel"/> are planned for <paramref name="day"/>, in all and per agent.</summary>
    Task<(int Total, Dictionary<string, int> PerAgent)> PlannedAsync(string channel, string day);

    /// <summary>Releases up to <paramref name="count"/> waiting actions of <paramref name="channel"/> for
    /// <paramref name="day"/> (to <paramref name="agentId"/>'s call list when given), highest priority first, then
    /// oldest; returns how many were released.</summary>
    Task<int> ReleaseAsync(string channel, string day, string? agentId, int count);

    /// <summary>An agent's call list for a day, highest priority first.</summary>
    Task<IReadOnlyList<CallListEntry>> CallListAsync(string agentId, string day);

    /// <summary>Marks an action on the agent's call list as called; false when it is not on that agent's list.</summary>
    Task<bool> CompleteCallAsync(string agentId, long sequence, DateTimeOffset at);

    /// <summary>Every action for the given customers, in the order they were stored (a privacy export).</summary>
    Task<IReadOnlyList<CampaignAction>> ForCustomersAsync(IReadOnlyList<string> customerIds);

    /// <summary>Blanks the personal parts (rendered subject and body, the last delivery error) of every action for the
    /// given customers (an erasure); returns how many rows changed, so a repeat returns 0.</summary>
    Task<int> BlankAsync(IReadOnlyList<string> customerIds);

    /// <summary>Where a campaign's actions are.</summary>
    Task<DeliveryCounts> CountsAsync(string campaignId);
}

/// <summary>One group of a campaign's results as the log has it: exposure kind, channel, target segment.</summary>
public sealed record ExposureResult(string Kind, string Channel, string Segment, long Customers, long Responders, long Converters, decimal Revenue);

/// <summary>The outcome of one webhook delivery attempt of the action <see cref="Sequence"/>.</summary>
public sealed record DeliveryAttempt(long Sequence, string DeliveryState, int Attempts, DateTimeOffset? NextAttemptAt, DateTimeOffset? DeliveredAt, string? LastError);
