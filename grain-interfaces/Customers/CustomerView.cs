namespace OrleansCrm.Customers;

/// <summary>Everything an agent's screen shows of one customer, in one call.</summary>
[GenerateSerializer, Immutable, Alias("crm.CustomerView")]
public sealed record CustomerView(
    string CustomerId,
    string? FirstName,
    string? LastName,
    string[] Emails,
    string[] Phones,
    DateOnly? BirthDate,
    PostalAddress? Address,
    string? OrgUnit,
    string? Region,
    string? AccountManager,
    string? PreferredChannel,
    Dictionary<string, string> Attributes,
    string[] Tags,
    Dictionary<string, string> ExternalIds,
    ProductHolding[] Products,
    TransactionSummary Transactions,
    ConsentView[] Consents,
    ServiceCase[] OpenCases,
    ServiceCase[] RecentCases,
    ContactItem[] RecentContacts,
    Dictionary<string, ScoreView> Scores,
    string[] Segments,
    NextBestAction[] NextBestActions,
    CustomerAlert[] Alerts,
    string[] MergedFrom,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long EventCount,
    bool Erased = false,
    DateTimeOffset? ErasedAt = null);

[GenerateSerializer, Immutable, Alias("crm.ProductHolding")]
public sealed record ProductHolding(string ProductId, string? Name, string? Category, DateTimeOffset? OpenedAt, DateTimeOffset? ClosedAt, string Status);

[GenerateSerializer, Immutable, Alias("crm.TransactionSummary")]
public sealed record TransactionSummary(
    long PurchaseCount,
    decimal PurchaseTotal,
    long ItemsBought,
    DateTimeOffset? FirstPurchaseAt,
    DateTimeOffset? LastPurchaseAt,
    decimal Spend30Days,
    decimal Spend90Days,
    decimal Spend365Days,
    long DepositCount,
    decimal DepositTotal,
    DateTimeOffset? LastDepositAt,
    long WithdrawalCount,
    decimal WithdrawalTotal,
    DateTimeOffset? LastWithdrawalAt,
    long PaymentsDue,
    long PaymentsPaid,
    long PaymentsLate);

[GenerateSerializer, Immutable, Alias("crm.ConsentView")]
public sealed record ConsentView(string Channel, string Purpose, bool Granted, DateTimeOffset At, string? Source);

[GenerateSerializer, Immutable, Alias("crm.ServiceCase")]
public sealed record ServiceCase(
    string CaseId,
    string Kind,
    string Status,
    string? Subject,
    DateTimeOffset? OpenedAt,
    DateTimeOffset? AnsweredAt,
    DateTimeOffset? ClosedAt,
    string? Agent);

[GenerateSerializer, Immutable, Alias("crm.ContactItem")]
public sealed record ContactItem(
    string EventId,
    string Type,
    string? Channel,
    string Direction,
    DateTimeOffset OccurredAt,
    string? Agent,
    string? Campaign,
    string? Outcome,
    string? Subject);

/// <summary>A score with the reasons an agent can read: the factors that moved it most.</summary>
[GenerateSerializer, Immutable, Alias("crm.ScoreView")]
public sealed record ScoreView(double Value, string? Label, string[] Reasons);

/// <summary>An offer worth making now, with why: propensity × value × priority lever.</summary>
[GenerateSerializer, Immutable, Alias("crm.NextBestAction")]
public sealed record NextBestAction(string OfferId, string Name, string Channel, double Score, double Propensity, decimal Value, string Reason);

/// <summary>Something a rule raised for the account manager (an alert or a task), or a campaign it triggered.</summary>
[GenerateSerializer, Immutable, Alias("crm.CustomerAlert")]
public sealed record CustomerAlert(string RuleId, string EventId, string Kind, string Message, DateTimeOffset At);
