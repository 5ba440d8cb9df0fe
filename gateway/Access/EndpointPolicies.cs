using OrleansCrm.Access;

namespace OrleansCrm.Gateway.Access;

/// <summary>What an endpoint's route names, whose organisation unit decides whether the caller may touch it.</summary>
public enum Scope
{
    /// <summary>No resource of a unit (catalogs, settings, the caller's own data).</summary>
    None,

    /// <summary>The customer named by the route's <c>customerId</c>.</summary>
    Customer,

    /// <summary>The segment named by the route's <c>segmentId</c>.</summary>
    Segment,

    /// <summary>The campaign named by the route's <c>campaignId</c>.</summary>
    Campaign,

    /// <summary>The agent named by the route's <c>agentId</c>: agents reach only their own call list (the agent id is
    /// their login); campaign managers reach every agent's.</summary>
    Agent,

    /// <summary>Many customers at once (bulk import, event batches) or settings of the whole organisation (daily
    /// capacity, planning a day): only callers of the whole organisation.</summary>
    Organisation,
}

/// <summary>Which records an endpoint leaves in the audit trail besides refusals (always recorded).</summary>
public enum Audit
{
    /// <summary>Reads of catalogs, counts and settings.</summary>
    None,

    /// <summary>A read of personal data about a customer.</summary>
    Read,

    /// <summary>Any change.</summary>
    Change,
}

public sealed record EndpointPolicy(string[] Roles, Scope Scope, Audit Audit);

/// <summary>
/// Who may call each endpoint, in one table (by endpoint name). An administrator may call every endpoint. The gateway
/// refuses to start when an endpoint under <c>/api</c> is missing here, so no endpoint exists without a decision about
/// who may call it; the role × endpoint × unit test reads this table too.
/// </summary>
public static class EndpointPolicies
{
    private const string A = Roles.Agent;
    private const string CM = Roles.CampaignManager;
    private const string AN = Roles.Analyst;
    private const string PM = Roles.PrivacyManager;
    private const string I = Roles.Integrator;

    public static readonly IReadOnlyDictionary<string, EndpointPolicy> Table = new Dictionary<string, EndpointPolicy>(StringComparer.Ordinal)
    {
        // Signed in: the caller's own identity.
        ["WhoAmI"] = new([A, CM, AN, PM, I], Scope.None, Audit.None),
        ["EndSession"] = new([A, CM, AN, PM, I], Scope.None, Audit.None),

        // Customers.
        ["GetCustomer"] = new([A, CM, AN, PM, I], Scope.Customer, Audit.Read),
        ["CustomerLive"] = new([A, CM, AN, PM, I], Scope.Customer, Audit.Read),
        ["UpsertCustomer"] = new([A, I], Scope.Customer, Audit.Change),
        ["PostCustomerEvent"] = new([A, I], Scope.Customer, Audit.Change),
        ["GetCustomerHistory"] = new([A, PM, I], Scope.Customer, Audit.Read),
        ["GetNextBestActions"] = new([A, I], Scope.Customer, Audit.Read),
        ["MergeCustomers"] = new([A], Scope.Customer, Audit.Change),
        ["RecordOfferOutcome"] = new([A, I], Scope.Customer, Audit.Change),
        ["LookupCustomer"] = new([A, PM, I], Scope.None, Audit.Read),
        ["PostEventBatch"] = new([I], Scope.Organisation, Audit.Change),
        [BulkImport.ImportEndpoints.ImportCustomers] = new([I], Scope.Organisation, Audit.Change),
        [BulkImport.ImportEndpoints.ImportTransactions] = new([I], Scope.Organisation, Audit.Change),
        [BulkImport.ImportEndpoints.ImportEvents] = new([I], Scope.Organisation, Audit.Change),
        [BulkImport.ImportEndpoints.ImportUnknownKind] = new([I], Scope.Organisation, Audit.Change),
        ["ExportCustomer"] = new([PM], Scope.Customer, Audit.Read),
        ["EraseCustomer"] = new([PM], Scope.Customer, Audit.Change),
        ["GetImport"] = new([I], Scope.None, Audit.None),

        // Decisions: rules, offers, models.
        ["ListRules"] = new([CM, AN], Scope.None, Audit.None),
        ["PutRule"] = new([CM], Scope.None, Audit.Change),
        ["DisableRule"] = new([CM], Scope.None, Audit.Change),
        ["EnableRule"] = new([CM], Scope.None, Audit.Change),
        ["ListOffers"] = new([A, CM, AN], Scope.None, Audit.None),
        ["PutOffer"] = new([CM], Scope.None, Audit.Change),
        ["ModelStatus"] = new([CM, AN], Scope.None, Audit.None),
        ["PutModels"] = new([AN], Scope.None, Audit.Change),
        ["TrainModel"] = new([AN], Scope.None, Audit.Change),
        ["RefreshRfm"] = new([AN], Scope.None, Audit.Change),

        // Segments.
        ["ListSegments"] = new([CM, AN], Scope.None, Audit.None),
        ["PreviewSegment"] = new([CM, AN], Scope.None, Audit.None),
        ["PutSegment"] = new([CM], Scope.Segment, Audit.Change),
        ["DeleteSegment"] = new([CM], Scope.Segment, Audit.Change),
        ["GetSegment"] = new([CM, AN], Scope.Segment, Audit.None),
        ["SegmentMembers"] = new([CM, AN], Scope.Segment, Audit.Read),
        ["SegmentStatistics"] = new([CM, AN], Scope.Segment, Audit.None),
        ["ExportSegment"] = new([CM, AN], Scope.Segment, Audit.Read),

        // Campaigns and delivery.
        ["ListCampaigns"] = new([CM, AN], Scope.None, Audit.None),
        ["PutCampaign"] = new([CM], Scope.Campaign, Audit.Change),
        ["GetCampaign"] = new([CM, AN], Scope.Campaign, Audit.None),
        ["CampaignResults"] = new([CM, AN], Scope.Campaign, Audit.None),
        ["CampaignLaunch"] = new([CM], Scope.Campaign, Audit.Change),
        ["CampaignPause"] = new([CM], Scope.Campaign, Audit.Change),
        ["CampaignResume"] = new([CM], Scope.Campaign, Audit.Change),
        ["CampaignCancel"] = new([CM], Scope.Campaign, Audit.Change),
        ["PutProspects"] = new([CM], Scope.Campaign, Audit.Change),
        ["PutWebhook"] = new([], Scope.None, Audit.Change),
        ["ActionFeed"] = new([I], Scope.Organisation, Audit.Read),
        ["GetCapacity"] = new([CM], Scope.None, Audit.None),
        ["PutCapacity"] = new([CM], Scope.Organisation, Audit.Change),
        ["PlanCapacity"] = new([CM], Scope.Organisation, Audit.Change),
        ["CallList"] = new([A, CM], Scope.Agent, Audit.Read),
        ["CallDone"] = new([A, CM], Scope.Agent, Audit.Change),

        // Administration: users, keys, the audit trail.
        ["ListUsers"] = new([], Scope.None, Audit.None),
        ["CreateUser"] = new([], Scope.None, Audit.Change),
        ["ChangeUser"] = new([], Scope.None, Audit.Change),
        ["ListApiKeys"] = new([], Scope.None, Audit.None),
        ["CreateApiKey"] = new([], Scope.None, Audit.Change),
        ["RevokeApiKey"] = new([], Scope.None, Audit.Change),
        ["RotateSigningKey"] = new([], Scope.None, Audit.Change),
        ["QueryAudit"] = new([], Scope.None, Audit.None),
    };

    /// <summary>Whether <paramref name="roles"/> admit a call to an endpoint of <paramref name="policy"/>.</summary>
    public static bool Admits(EndpointPolicy policy, IReadOnlyCollection<string> roles) =>
        roles.Contains(Roles.Administrator) || policy.Roles.Any(roles.Contains);
}
