namespace OrleansCrm.Customers;

/// <summary>The event types the customer grain understands: their names, and one declaration of each in
/// <see cref="Registered"/>.</summary>
public static class CustomerEventTypes
{
    public const string Purchase = "purchase";
    public const string Deposit = "deposit";
    public const string Withdrawal = "withdrawal";
    public const string PaymentDue = "payment.due";
    public const string PaymentPaid = "payment.paid";
    public const string WebVisit = "web.visit";
    public const string EmailOpened = "email.opened";
    public const string EmailClicked = "email.clicked";
    public const string CallInbound = "call.inbound";
    public const string CallOutbound = "call.outbound";
    public const string ComplaintOpened = "complaint.opened";
    public const string ComplaintAnswered = "complaint.answered";
    public const string ComplaintClosed = "complaint.closed";
    public const string EnquiryOpened = "enquiry.opened";
    public const string EnquiryAnswered = "enquiry.answered";
    public const string EnquiryClosed = "enquiry.closed";
    public const string ProductOpened = "product.opened";
    public const string ProductClosed = "product.closed";
    public const string ConsentChanged = "consent.changed";
    public const string ProfileChanged = "profile.changed";
    public const string OfferOutcome = "offer.outcome";

    /// <summary>A campaign's message sent to the customer (outbound, on a channel, naming the campaign); what
    /// frequency caps and the daily contact limit count.</summary>
    public const string CampaignContact = "campaign.contact";

    /// <summary>The customer was held out of a campaign as its control group: nothing was sent, and its responses
    /// are measured against those who were contacted.</summary>
    public const string CampaignHoldout = "campaign.holdout";

    /// <summary>The customer's personal data was erased (written by the erasure itself, never accepted from callers):
    /// replaying the log after it leaves the state anonymised.</summary>
    public const string CustomerErased = "customer.erased";

    /// <summary>Every type a customer's log may hold, one declaration each. Validation, folding, imports and the API
    /// description all read this list: adding a type of an existing kind is one line here.</summary>
    public static IReadOnlyList<EventTypeInfo> Registered { get; } =
    [
        new(Purchase, EventKind.Transaction, "A purchase; counts towards purchase totals, rolling spend and RFM; a campaign response.", [EventFields.Amount], TransactionImport: true, CampaignResponse: true),
        new(Deposit, EventKind.Transaction, "Money paid in; counts towards the deposit total.", [EventFields.Amount], TransactionImport: true),
        new(Withdrawal, EventKind.Transaction, "Money taken out; a large one against the balance held raises the large-withdrawal risk flag.", [EventFields.Amount], TransactionImport: true),
        new(PaymentDue, EventKind.Transaction, "A bill falls due.", [EventFields.Amount], TransactionImport: true),
        new(PaymentPaid, EventKind.Transaction, "A bill was paid; paid after data.dueAt it counts as late.", [EventFields.Amount], TransactionImport: true),
        new(WebVisit, EventKind.Contact, "The customer visited the web site (data.url).", [], ContactDirection.Inbound, "web"),
        new(EmailOpened, EventKind.Contact, "The customer opened an e-mail (data.campaign).", [], ContactDirection.Inbound, "email"),
        new(EmailClicked, EventKind.Contact, "The customer clicked a link in an e-mail; a campaign response.", [], ContactDirection.Inbound, "email", CampaignResponse: true),
        new(CallInbound, EventKind.Contact, "The customer called in (data.agent, subject, outcome); a campaign response.", [], ContactDirection.Inbound, "phone", CampaignResponse: true),
        new(CallOutbound, EventKind.Contact, "An agent called the customer (data.agent, subject, outcome).", [], ContactDirection.Outbound, "phone"),
        new(ComplaintOpened, EventKind.Case, "A complaint was opened (data.subject).", [EventFields.CaseId], ContactDirection.Inbound, Stage: CaseStage.Opened),
        new(ComplaintAnswered, EventKind.Case, "An agent answered a complaint (data.agent).", [EventFields.CaseId], ContactDirection.Outbound, Stage: CaseStage.Answered),
        new(ComplaintClosed, EventKind.Case, "A complaint was closed.", [EventFields.CaseId], ContactDirection.Outbound, Stage: CaseStage.Closed),
        new(EnquiryOpened, EventKind.Case, "An enquiry was opened (data.subject).", [EventFields.CaseId], ContactDirection.Inbound, Stage: CaseStage.Opened),
        new(EnquiryAnswered, EventKind.Case, "An agent answered an enquiry (data.agent).", [EventFields.CaseId], ContactDirection.Outbound, Stage: CaseStage.Answered),
        new(EnquiryClosed, EventKind.Case, "An enquiry was closed.", [EventFields.CaseId], ContactDirection.Outbound, Stage: CaseStage.Closed),
        new(ProductOpened, EventKind.Product, "The customer took up a product (data.productName, category).", [EventFields.ProductId]),
        new(ProductClosed, EventKind.Product, "The customer gave up a product.", [EventFields.ProductId]),
        new(ConsentChanged, EventKind.Consent, "Consent on a channel for a purpose was given or withdrawn; the latest wins.", [EventFields.Channel, EventFields.Purpose, EventFields.Granted]),
        new(ProfileChanged, EventKind.Profile, "Profile fields changed; the latest value of each field wins.", [EventFields.Profile]),
        new(OfferOutcome, EventKind.OfferOutcome, "The customer's answer to an offer (data.outcome: accepted, declined or notnow).", [EventFields.OfferId], ContactDirection.Inbound),
        new(CampaignContact, EventKind.Campaign, "A campaign's message sent to the customer; what frequency caps and the daily contact limit count.", [EventFields.Channel, EventFields.Campaign], ContactDirection.Outbound),
        new(CampaignHoldout, EventKind.Campaign, "The customer was held out of a campaign as its control group.", [EventFields.Campaign]),
        new(CustomerErased, EventKind.Internal, "The customer's personal data was erased; written by the erasure itself.", []),
    ];

    private static readonly Dictionary<string, EventTypeInfo> ByName = Registered.ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>The types callers may record (every registered type but the internal ones).</summary>
    public static IReadOnlySet<string> All { get; } =
        new HashSet<string>(Registered.Where(t => t.AcceptedFromCallers).Select(t => t.Name), StringComparer.Ordinal);

    /// <summary>The types a transactions import may carry, in declaration order.</summary>
    public static IReadOnlyList<string> TransactionImportTypes { get; } = [.. Registered.Where(t => t.TransactionImport).Select(t => t.Name)];

    /// <summary>The types that count as a response to a campaign contact within its attribution window (besides an
    /// accepted offer): what campaign results, journeys' branches and offer learning from campaigns count.</summary>
    public static IReadOnlyList<string> CampaignResponseTypes { get; } = [.. Registered.Where(t => t.CampaignResponse).Select(t => t.Name)];

    /// <summary>Whether an event of <paramref name="type"/> is a campaign response.</summary>
    public static bool IsCampaignResponse(string? type) => Find(type)?.CampaignResponse == true;

    /// <summary>What an agent may record as the answer to an offer.</summary>
    public static IReadOnlySet<string> OfferOutcomes { get; } = new HashSet<string>(StringComparer.Ordinal) { "accepted", "declined", "notnow" };

    /// <summary>The declaration of <paramref name="type"/>, or null for a type nobody declared.</summary>
    public static EventTypeInfo? Find(string? type) => type is null ? null : ByName.GetValueOrDefault(type);

    /// <summary>Types that are a contact with the customer and appear among recent contacts.</summary>
    public static bool IsContact(string? type) => Find(type)?.IsContact == true;

    public static bool IsCase(string? type) => Find(type)?.Kind == EventKind.Case;
}
