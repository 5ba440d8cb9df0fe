namespace OrleansCrm.Customers;

/// <summary>The event types the customer grain understands, and the fields each one needs.</summary>
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

    public static IReadOnlySet<string> All { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        Purchase, Deposit, Withdrawal, PaymentDue, PaymentPaid, WebVisit, EmailOpened, EmailClicked,
        CallInbound, CallOutbound, ComplaintOpened, ComplaintAnswered, ComplaintClosed,
        EnquiryOpened, EnquiryAnswered, EnquiryClosed, ProductOpened, ProductClosed, ConsentChanged, ProfileChanged, OfferOutcome,
        CampaignContact, CampaignHoldout,
    };

    /// <summary>What an agent may record as the answer to an offer.</summary>
    public static IReadOnlySet<string> OfferOutcomes { get; } = new HashSet<string>(StringComparer.Ordinal) { "accepted", "declined", "notnow" };

    /// <summary>Types that are a contact with the customer and appear among recent contacts.</summary>
    public static bool IsContact(string type) => type is WebVisit or EmailOpened or EmailClicked or CallInbound or CallOutbound
        or ComplaintOpened or ComplaintAnswered or ComplaintClosed or EnquiryOpened or EnquiryAnswered or EnquiryClosed or OfferOutcome or CampaignContact;

    public static bool IsCase(string type) => type.StartsWith("complaint.", StringComparison.Ordinal) || type.StartsWith("enquiry.", StringComparison.Ordinal);
}
