using OrleansCrm.Bench.Population;
using OrleansCrm.Customers;

namespace OrleansCrm.Bench.Baseline;

/// <summary>A customer as the three-tier application's import writes it: one row of current profile, consent and
/// purchase summary, plus a row per contact and per money movement. Profile events are applied in time order, the
/// latest value winning, as the CRM does.</summary>
public sealed record BaselineCustomerRow(
    string CustomerId,
    string? FirstName,
    string? LastName,
    string[] Emails,
    string[] Phones,
    DateOnly? BirthDate,
    string? AddressLine1,
    string? City,
    string? PostalCode,
    string? Country,
    string? Region,
    string? PreferredChannel,
    string? Tier,
    string? Kind,
    string[] Tags,
    bool? MarketingEmail,
    bool? MarketingSms,
    bool? MarketingPhone,
    DateTimeOffset? ConsentChangedAt,
    int PurchaseCount,
    decimal PurchaseTotal,
    DateTimeOffset? FirstPurchaseAt,
    DateTimeOffset? LastPurchaseAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

public sealed record BaselineContactRow(string CustomerId, string EventId, DateTimeOffset OccurredAt, string Type, string? Channel, string Direction, string? Agent, string? Campaign, string? Outcome, string? Subject);

public sealed record BaselineTransactionRow(string CustomerId, string EventId, string Kind, DateTimeOffset OccurredAt, decimal Amount, int? Quantity, string? Channel, string? Category);

public static class BaselineRows
{
    /// <summary>The event types the baseline keeps as transactions (its ingest accepts these).</summary>
    public static IReadOnlySet<string> TransactionKinds { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        CustomerEventTypes.Purchase, CustomerEventTypes.Deposit, CustomerEventTypes.Withdrawal,
    };

    public static (BaselineCustomerRow Customer, List<BaselineContactRow> Contacts, List<BaselineTransactionRow> Transactions) From(SyntheticCustomer customer)
    {
        var emails = new List<string>();
        var phones = new List<string>();
        var contacts = new List<BaselineContactRow>();
        var transactions = new List<BaselineTransactionRow>();
        CustomerProfile p = new();
        var consents = new Dictionary<string, bool>(StringComparer.Ordinal);
        DateTimeOffset? consentAt = null;
        foreach (var e in customer.Events.OrderBy(e => e.OccurredAt))
        {
            var d = e.Data;
            switch (e.Type)
            {
                case CustomerEventTypes.ProfileChanged:
                    var q = d.Profile!;
                    p = p with
                    {
                        FirstName = q.FirstName ?? p.FirstName,
                        LastName = q.LastName ?? p.LastName,
                        BirthDate = q.BirthDate ?? p.BirthDate,
                        Address = q.Address ?? p.Address,
                        Region = q.Region ?? p.Region,
                        PreferredChannel = q.PreferredChannel ?? p.PreferredChannel,
                        Attributes = q.Attributes ?? p.Attributes,
                        Tags = q.Tags ?? p.Tags,
                    };
                    if (q.Email is { } email)
                    {
                        emails.Remove(email);
                        emails.Insert(0, email);
                    }

                    if (q.Phone is { } phone)
                    {
                        phones.Remove(phone);
                        phones.Insert(0, phone);
                    }

                    break;
                case CustomerEventTypes.ConsentChanged:
                    consents[e.Channel!] = d.Granted!.Value;
                    consentAt = e.OccurredAt;
                    break;
                case var type when TransactionKinds.Contains(type):
                    transactions.Add(new BaselineTransactionRow(customer.Id, e.EventId, type, e.OccurredAt, d.Amount!.Value, d.Quantity, e.Channel, d.Category));
                    break;
                case var type when CustomerEventTypes.IsContact(type):
                    contacts.Add(new BaselineContactRow(customer.Id, e.EventId, e.OccurredAt, type, e.Channel,
                        type == CustomerEventTypes.CallOutbound ? "outbound" : "inbound", d.Agent, d.Campaign, d.Outcome, d.Subject));
                    break;
            }
        }

        var purchases = transactions.Where(t => t.Kind == CustomerEventTypes.Purchase).ToList();
        var row = new BaselineCustomerRow(
            customer.Id, p.FirstName, p.LastName, [.. emails], [.. phones], p.BirthDate,
            p.Address?.Line1, p.Address?.City, p.Address?.PostalCode, p.Address?.Country, p.Region, p.PreferredChannel,
            p.Attributes?.GetValueOrDefault("tier"), p.Attributes?.GetValueOrDefault("kind"), p.Tags ?? [],
            consents.TryGetValue("email", out var byEmail) ? byEmail : null,
            consents.TryGetValue("sms", out var bySms) ? bySms : null,
            consents.TryGetValue("phone", out var byPhone) ? byPhone : null,
            consentAt,
            purchases.Count, purchases.Sum(t => t.Amount),
            purchases.Count == 0 ? null : purchases.Min(t => t.OccurredAt),
            purchases.Count == 0 ? null : purchases.Max(t => t.OccurredAt),
            customer.Events[0].OccurredAt,
            customer.Events[^1].OccurredAt);
        return (row, contacts, transactions);
    }
}
