namespace OrleansCrm.Campaigns;

/// <summary>The durable outbox of campaign actions (<c>crm_campaign_actions</c>).</summary>
public interface ICampaignActionStore
{
    /// <summary>Stores the action unless its idempotency key is already there; true when this call stored it.</summary>
    Task<bool> AddAsync(CampaignAction action);

    /// <summary>Actions in the order they were stored, after <paramref name="afterSequence"/>; optionally one campaign's.</summary>
    Task<IReadOnlyList<CampaignAction>> ReadAsync(long afterSequence, int limit, string? campaignId);

    /// <summary>Per kind of exposure (<c>campaign.contact</c> or <c>campaign.holdout</c>) and channel: customers, those
    /// who responded and who bought within <paramref name="attributionDays"/> after it, and what they spent then.</summary>
    Task<IReadOnlyList<(string Kind, string Channel, long Customers, long Responders, long Converters, decimal Revenue)>> ResultsAsync(string campaignId, int attributionDays);

    /// <summary>Actions waiting for the webhook whose next attempt is due, in the order they were stored, with the
    /// attempts made so far.</summary>
    Task<IReadOnlyList<(CampaignAction Action, int Attempts)>> DueForDeliveryAsync(DateTimeOffset now, int limit);

    /// <summary>Records a delivery attempt: delivered, failed for good, or pending again from <paramref name="nextAttemptAt"/>.</summary>
    Task RecordDeliveryAsync(long sequence, string deliveryState, int attempts, DateTimeOffset? nextAttemptAt, DateTimeOffset? deliveredAt, string? lastError);
}
