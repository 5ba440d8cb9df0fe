namespace OrleansCrm.Customers;

/// <summary>
/// What a customer grain persists. Bounded: recent items and running aggregates only; the full history is in the
/// append-only event log (<see cref="ICustomerLog"/>), so a write costs the same for a new and an old customer.
/// </summary>
[GenerateSerializer, Alias("crm.CustomerState")]
public sealed class CustomerState
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public string? FirstName { get; set; }
    [Id(2)] public string? LastName { get; set; }

    /// <summary>Normalised e-mail address → when it was last given; the most recent is the primary.</summary>
    [Id(3)] public Dictionary<string, DateTimeOffset> Emails { get; set; } = [];

    /// <summary>Normalised phone number → when it was last given.</summary>
    [Id(4)] public Dictionary<string, DateTimeOffset> Phones { get; set; } = [];

    [Id(5)] public DateOnly? BirthDate { get; set; }
    [Id(6)] public PostalAddress? Address { get; set; }
    [Id(7)] public string? OrgUnit { get; set; }
    [Id(8)] public string? Region { get; set; }
    [Id(9)] public string? AccountManager { get; set; }
    [Id(10)] public string? PreferredChannel { get; set; }
    [Id(11)] public Dictionary<string, string> Attributes { get; set; } = [];
    [Id(12)] public SortedSet<string> Tags { get; set; } = new(StringComparer.Ordinal);
    [Id(13)] public Dictionary<string, string> ExternalIds { get; set; } = [];

    /// <summary>Profile field → occurred-at of the change that set it; a later-arriving older change loses.</summary>
    [Id(14)] public Dictionary<string, DateTimeOffset> FieldTimes { get; set; } = [];

    [Id(15)] public Dictionary<string, ProductHolding> Products { get; set; } = [];
    [Id(16)] public TransactionTotals Totals { get; set; } = new();
    [Id(17)] public Dictionary<string, ConsentView> Consents { get; set; } = [];

    /// <summary>Every open case and the most recent closed ones.</summary>
    [Id(18)] public Dictionary<string, ServiceCase> Cases { get; set; } = [];

    /// <summary>The most recent contacts by occurred-at, newest first.</summary>
    [Id(19)] public List<ContactItem> RecentContacts { get; set; } = [];

    /// <summary>Adjustments rules made to scores (added to the computed value), by score name.</summary>
    [Id(20)] public Dictionary<string, double> Scores { get; set; } = [];
    [Id(21)] public SortedSet<string> Segments { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Set when this customer was merged into another; calls forward there.</summary>
    [Id(23)] public string? MergedInto { get; set; }
    [Id(24)] public List<string> MergedFrom { get; set; } = [];

    /// <summary>The highest log sequence applied to this state; log rows above it are replayed at activation.</summary>
    [Id(25)] public long AppliedSequence { get; set; }
    [Id(26)] public long EventCount { get; set; }
    [Id(27)] public DateTimeOffset CreatedAt { get; set; }
    [Id(28)] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Contact points this customer holds in the lookup index ("email:…", "phone:…", "ext:…").</summary>
    [Id(29)] public HashSet<string> IndexedContacts { get; set; } = new(StringComparer.Ordinal);

    /// <summary>What rules raised for the account manager, newest first (bounded).</summary>
    [Id(30)] public List<CustomerAlert> Alerts { get; set; } = [];

    /// <summary>Which rule fired on which event, newest first (bounded): the audit of the rule base.</summary>
    [Id(31)] public List<RuleFiring> RuleFirings { get; set; } = [];

    /// <summary>Offers a rule proposed, by offer id.</summary>
    [Id(32)] public Dictionary<string, RuleFiring> ProposedOffers { get; set; } = [];

    /// <summary>The latest answer to each offer, by offer id.</summary>
    [Id(33)] public Dictionary<string, OfferAnswer> OfferAnswers { get; set; } = [];

    /// <summary>Sudden-behaviour flags and when they were raised; they lapse after 90 days.</summary>
    [Id(34)] public Dictionary<string, DateTimeOffset> RiskFlags { get; set; } = [];

    /// <summary>Joins and leaves written with the change that caused them and not yet confirmed by the segment
    /// shard; re-sent at activation (receipt is idempotent by sequence).</summary>
    [Id(35)] public List<SegmentMessage> SegmentOutbox { get; set; } = [];

    /// <summary>The sequence of this customer's last segment message.</summary>
    [Id(36)] public long SegmentSequence { get; set; }

    /// <summary>When a time-based segment condition will next change its answer for this customer with no event
    /// (null: none will); a reminder wakes the customer then.</summary>
    [Id(37)] public DateTimeOffset? NextSegmentCheck { get; set; }

    /// <summary>Static segments this customer was listed in: segment id → the stamps of the (at most two) latest
    /// uploads that listed it. The customer is a member while one of them is the definition's current stamp.</summary>
    [Id(38)] public Dictionary<string, long[]> StaticLists { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Campaign decisions as earlier versions kept them, in the snapshot (key <c>campaign/step</c>); a pending
    /// one's action is emitted from here after an upgrade. Decisions are now rows of their own (see
    /// <c>crm_campaign_decisions</c>), and these move there in the customer's first decision commit.</summary>
    [Id(39)] public Dictionary<string, CampaignDecisionRecord> CampaignDecisions { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Campaigns a rule triggered (campaign id, the event that fired it), written with that event and
    /// removed in the write that records the customer's decision for the campaign.</summary>
    [Id(40)] public List<CampaignTrigger> PendingTriggers { get; set; } = [];

    /// <summary>Set when the customer's personal data was erased; the customer then accepts no further events.</summary>
    [Id(41)] public ErasureRecord? Erasure { get; set; }

    /// <summary>Campaign contacts that carried an offer and whose response window is open: what the customer's next
    /// events are attributed to (bounded by the windows' length; each leaves once its outcome is reported).</summary>
    [Id(43)] public List<OfferContact> OfferContacts { get; set; } = [];
}

/// <summary>A campaign contact with an offer (<see cref="Key"/> <c>campaign/step</c>) awaiting a response until
/// <see cref="RespondBy"/>.</summary>
[GenerateSerializer, Immutable, Alias("crm.OfferContact")]
public sealed record OfferContact(string Key, string OfferId, string? Channel, DateTimeOffset At, DateTimeOffset RespondBy);

/// <summary>When and why a customer was erased; <see cref="Report"/> is set once every step has completed, and is
/// what a repeated erase answers.</summary>
[GenerateSerializer, Immutable, Alias("crm.ErasureRecord")]
public sealed record ErasureRecord(DateTimeOffset At, string? Reason, ErasureReport? Report);

[GenerateSerializer, Immutable, Alias("crm.CampaignTrigger")]
public sealed record CampaignTrigger(string CampaignId, string EventId);

/// <summary>One campaign step's decision. <see cref="Pending"/> while its action (message included) is not yet in
/// the action outbox; the message is dropped from state once it is.</summary>
[GenerateSerializer, Immutable, Alias("crm.CampaignDecisionRecord")]
public sealed record CampaignDecisionRecord(
    string CampaignId,
    string StepId,
    string Outcome,
    string? Reason,
    string? Channel,
    DateTimeOffset At,
    DateOnly LocalDay,
    int Priority,
    bool Pending,
    string? Subject,
    string? Body,
    bool Html,
    DateTimeOffset? NotBefore,
    string? Segment = null,
    string? OfferId = null,
    DateTimeOffset? RespondBy = null,
    bool Learned = false);

[GenerateSerializer, Immutable, Alias("crm.SegmentMessage")]
public sealed record SegmentMessage(string SegmentId, bool Member, long Sequence);

[GenerateSerializer, Immutable, Alias("crm.RuleFiring")]
public sealed record RuleFiring(string RuleId, string EventId, DateTimeOffset At);

[GenerateSerializer, Immutable, Alias("crm.OfferAnswer")]
public sealed record OfferAnswer(string Outcome, DateTimeOffset At, string EventId);

[GenerateSerializer, Alias("crm.TransactionTotals")]
public sealed class TransactionTotals
{
    [Id(0)] public long PurchaseCount { get; set; }
    [Id(1)] public decimal PurchaseTotal { get; set; }
    [Id(2)] public long ItemsBought { get; set; }
    [Id(3)] public DateTimeOffset? FirstPurchaseAt { get; set; }
    [Id(4)] public DateTimeOffset? LastPurchaseAt { get; set; }

    /// <summary>Purchase amounts per UTC day number, for the last <see cref="CustomerAggregate.SpendWindowDays"/> days.</summary>
    [Id(5)] public SortedDictionary<int, decimal> DailySpend { get; set; } = [];

    [Id(6)] public long DepositCount { get; set; }
    [Id(7)] public decimal DepositTotal { get; set; }
    [Id(8)] public DateTimeOffset? LastDepositAt { get; set; }
    [Id(9)] public long WithdrawalCount { get; set; }
    [Id(10)] public decimal WithdrawalTotal { get; set; }
    [Id(11)] public DateTimeOffset? LastWithdrawalAt { get; set; }
    [Id(12)] public long PaymentsDue { get; set; }
    [Id(13)] public long PaymentsPaid { get; set; }
    [Id(14)] public long PaymentsLate { get; set; }

    /// <summary>The newest deposits and withdrawals (at most <see cref="CustomerAggregate.MoneyMovesKept"/>), oldest
    /// first by occurred-at then event id: what a withdrawal is weighed against is the balance at its own time, whatever
    /// order the events arrived in.</summary>
    [Id(15)] public List<MoneyMove> MoneyMoves { get; set; } = [];

    /// <summary>The balance of every deposit and withdrawal older than <see cref="MoneyMoves"/>.</summary>
    [Id(16)] public decimal MoneyBefore { get; set; }

    /// <summary>False for a state written before <see cref="MoneyMoves"/> existed: its first money event starts them
    /// from the totals.</summary>
    [Id(17)] public bool MoneyTracked { get; set; }
}

/// <summary>A deposit (positive) or withdrawal (negative).</summary>
[GenerateSerializer, Immutable, Alias("crm.MoneyMove")]
public sealed record MoneyMove(DateTimeOffset At, string EventId, decimal Amount);
