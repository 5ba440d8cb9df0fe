using OrleansCrm.Customers;

namespace OrleansCrm.Tests.Customers;

/// <summary>What an erasure removes from a customer's state and log payloads, and what it keeps.</summary>
public sealed class CustomerRedactionTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Anonymising_removes_personal_fields_keeps_aggregates_and_withdraws_consent()
    {
        var state = new CustomerState();
        foreach (var e in CustomerAggregateTests.SampleEvents())
        {
            CustomerAggregate.Apply(state, e, Now);
        }

        var before = CustomerAggregate.View(state, "c1", Now);
        CustomerRedaction.Anonymise(state, Now);
        var after = CustomerAggregate.View(state, "c1", Now);

        Assert.Equal((null, null, 0, 0), (after.FirstName, after.LastName, after.Emails.Length, after.Phones.Length));
        Assert.Null(after.Address);
        Assert.Empty(after.Attributes);
        Assert.Empty(after.ExternalIds);
        Assert.Equal(before.Transactions, after.Transactions);
        Assert.Equal(before.Region, after.Region);
        Assert.All(after.OpenCases.Concat(after.RecentCases), c => Assert.Null(c.Subject));
        Assert.All(after.RecentContacts, c => Assert.Null(c.Subject));
        Assert.All(after.Consents, c => Assert.False(c.Granted));
        Assert.True(after.Erased);
        Assert.Equal(Now, after.ErasedAt);
    }

    [Fact]
    public void A_redacted_payload_keeps_amounts_and_references_to_things_but_no_free_text_or_profile_values()
    {
        var data = new EventData(
            Amount: 12.5m, Currency: "EUR", ProductId: "sku", Quantity: 2, CaseId: "case-1", Subject: "about my divorce", Agent: "agent-1",
            Url: "/track?email=a@b.example", Purpose: "marketing", Granted: true, Reference: "inv-1", Note: "lives next door",
            Profile: new CustomerProfile("Ada", "Byron", "ada@example.com", "+31612345678", new DateOnly(1815, 12, 10),
                new PostalAddress("1 Street", null, "London", "N1", "GB"), "nl/north", "north", "am-1", "email",
                new() { ["pet"] = "Rex" }, ["vip"], new() { ["crm"] = "77" }));

        var redacted = CustomerRedaction.Redact(data);

        Assert.Equal((12.5m, "EUR", "sku", 2, "case-1", "agent-1", "marketing", true), (redacted.Amount, redacted.Currency, redacted.ProductId, redacted.Quantity, redacted.CaseId, redacted.Agent, redacted.Purpose, redacted.Granted));
        Assert.Equal((null, null, null, null), (redacted.Subject, redacted.Url, redacted.Reference, redacted.Note));
        var p = redacted.Profile!;
        Assert.Equal((null, null, null, null, null, null, null, null), (p.FirstName, p.LastName, p.Email, p.Phone, (object?)p.BirthDate, (object?)p.Address, (object?)p.Attributes, (object?)p.ExternalIds));
        Assert.Equal(("nl/north", "north", "am-1", "email"), (p.OrgUnit, p.Region, p.AccountManager, p.PreferredChannel));
        Assert.Equal(["vip"], p.Tags!);
    }
}
