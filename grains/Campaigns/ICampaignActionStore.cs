namespace OrleansCrm.Campaigns;

/// <summary>The durable outbox of campaign actions (<c>crm_campaign_actions</c>).</summary>
public interface ICampaignActionStore
{
    /// <summary>Stores the action unless its idempotency key is already there; true when this call stored it.</summary>
    Task<bool> AddAsync(CampaignAction action);

    /// <summary>Actions in the order they were stored, after <paramref name="afterSequence"/>; optionally one campaign's.</summary>
    Task<IReadOnlyList<CampaignAction>> ReadAsync(long afterSequence, int limit, string? campaignId);
}
