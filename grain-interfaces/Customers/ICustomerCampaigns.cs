namespace OrleansCrm.Customers;

/// <summary>A role of <see cref="ICustomerGrain"/>. Campaign decisions: the customer decides each campaign step for itself,
/// by its own state and the contact policy.</summary>
[Alias("crm.ICustomerCampaigns")]
public interface ICustomerCampaigns : IGrainWithStringKey
{
    /// <summary>Decides a campaign step for this customer, by its own state and the contact policy; a decision to
    /// contact is recorded in the history as a <c>campaign.contact</c> and emitted once to the action outbox. A step
    /// already decided returns the recorded decision (<c>Repeat</c>).</summary>
    [Alias("DecideCampaign")]
    Task<OrleansCrm.Campaigns.CampaignDecisionResult> DecideCampaignAsync(OrleansCrm.Campaigns.CampaignStep campaignStep);
}
