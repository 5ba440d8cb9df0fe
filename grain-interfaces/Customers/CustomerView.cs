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
    Dictionary<string, double> Scores,
    string[] Segments,
    string? NextBestAction,
    string[] MergedFrom,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    long EventCount);

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
