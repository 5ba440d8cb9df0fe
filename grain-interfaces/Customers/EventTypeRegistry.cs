namespace OrleansCrm.Customers;

/// <summary>What an event type does to a customer. The aggregate folds, and the validation checks, by kind, so a new
/// type of an existing kind needs only its declaration in <see cref="CustomerEventTypes.Registered"/>.</summary>
public enum EventKind
{
    /// <summary>Money moving (purchase, deposit, a bill): carries <c>data.amount</c>.</summary>
    Transaction,

    /// <summary>A touch between the customer and the company (a visit, an e-mail opened, a call).</summary>
    Contact,

    /// <summary>A step of a service case (complaint, enquiry): <c>&lt;case kind&gt;.&lt;stage&gt;</c>.</summary>
    Case,

    /// <summary>A product taken up or given up.</summary>
    Product,

    /// <summary>Consent on a channel for a purpose, given or withdrawn.</summary>
    Consent,

    /// <summary>Profile fields changed.</summary>
    Profile,

    /// <summary>The customer's answer to an offer.</summary>
    OfferOutcome,

    /// <summary>What a campaign did with the customer: contacted or held out.</summary>
    Campaign,

    /// <summary>Written by the CRM itself, never accepted from callers.</summary>
    Internal,
}

/// <summary>The step of a service case an event of kind <see cref="EventKind.Case"/> records.</summary>
public enum CaseStage
{
    Opened,
    Answered,
    Closed,
}

/// <summary>Which way a contact went, as stored in the customer's recent contacts.</summary>
public static class ContactDirection
{
    public const string Inbound = "inbound";
    public const string Outbound = "outbound";
}

/// <summary>A field an event type requires: its JSON path (as errors name it) and how to tell it was given.</summary>
public sealed record EventField(string Path, Func<CustomerEvent, bool> IsPresent);

/// <summary>The fields event types may require.</summary>
public static class EventFields
{
    public static readonly EventField Channel = new("channel", e => e.Channel is not null);
    public static readonly EventField Amount = new("data.amount", e => e.Data.Amount is not null);
    public static readonly EventField ProductId = new("data.productId", e => !string.IsNullOrWhiteSpace(e.Data.ProductId));
    public static readonly EventField CaseId = new("data.caseId", e => !string.IsNullOrWhiteSpace(e.Data.CaseId));
    public static readonly EventField Purpose = new("data.purpose", e => !string.IsNullOrWhiteSpace(e.Data.Purpose));
    public static readonly EventField Granted = new("data.granted", e => e.Data.Granted is not null);
    public static readonly EventField Profile = new("data.profile", e => e.Data.Profile is not null);
    public static readonly EventField OfferId = new("data.offerId", e => !string.IsNullOrWhiteSpace(e.Data.OfferId));
    public static readonly EventField Campaign = new("data.campaign", e => !string.IsNullOrWhiteSpace(e.Data.Campaign));
}

/// <summary>
/// One event type, declared once: everything the validation, the aggregate, the imports and the API description need
/// to know about it.
/// </summary>
/// <param name="Name">The type as stored in the log and sent on the wire.</param>
/// <param name="Kind">What it does to the customer.</param>
/// <param name="Description">One line for the API description and the docs.</param>
/// <param name="Requires">Fields without which it is refused (<c>data.X is required for T</c>).</param>
/// <param name="Direction">Set for a type that appears among recent contacts: which way the contact went.</param>
/// <param name="ChannelFamily">A contact's channel when the event names none (a call is on the phone).</param>
/// <param name="Stage">For a case event, the step of the case it records.</param>
/// <param name="TransactionImport">Whether a transactions import may carry it.</param>
/// <param name="CampaignResponse">Whether it counts as a response to a campaign contact in its attribution window.</param>
public sealed record EventTypeInfo(
    string Name,
    EventKind Kind,
    string Description,
    IReadOnlyList<EventField> Requires,
    string? Direction = null,
    string? ChannelFamily = null,
    CaseStage? Stage = null,
    bool TransactionImport = false,
    bool CampaignResponse = false)
{
    /// <summary>Whether callers (the API, imports, rules' triggers) may name it; internal types are the CRM's own.</summary>
    public bool AcceptedFromCallers => Kind != EventKind.Internal;

    /// <summary>Whether it appears among the customer's recent contacts.</summary>
    public bool IsContact => Direction is not null;
}
