using OrleansCrm.Customers;

namespace OrleansCrm.Tests.Customers;

/// <summary>The pure rules of how events change a customer.</summary>
public sealed class CustomerAggregateTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    public static CustomerEvent[] SampleEvents() =>
    [
        new("p1", CustomerEventTypes.ProfileChanged, Now.AddDays(-300), "crm", null, new EventData(Profile: new CustomerProfile("Ada", "Byron", "ada@old.example", Region: "north"))),
        new("p2", CustomerEventTypes.ProfileChanged, Now.AddDays(-10), "crm", null, new EventData(Profile: new CustomerProfile(LastName: "Lovelace", Email: "Ada@New.Example", Phone: "+1 415 555 0100"))),
        new("b1", CustomerEventTypes.Purchase, Now.AddDays(-200), "pos", "branch", new EventData(Amount: 100m, Quantity: 2)),
        new("b2", CustomerEventTypes.Purchase, Now.AddDays(-20), "web", "web", new EventData(Amount: 40m)),
        new("b3", CustomerEventTypes.Purchase, Now.AddDays(-5), "web", "web", new EventData(Amount: 10.25m)),
        new("d1", CustomerEventTypes.Deposit, Now.AddDays(-4), "core", null, new EventData(Amount: 5000m)),
        new("w1", CustomerEventTypes.Withdrawal, Now.AddDays(-2), "core", null, new EventData(Amount: 4500m)),
        new("pd", CustomerEventTypes.PaymentDue, Now.AddDays(-40), "billing", null, new EventData(Amount: 30m, Reference: "inv-1")),
        new("pp", CustomerEventTypes.PaymentPaid, Now.AddDays(-30), "billing", null, new EventData(Amount: 30m, Reference: "inv-1", DueAt: Now.AddDays(-35))),
        new("c1", CustomerEventTypes.ConsentChanged, Now.AddDays(-100), "web", "email", new EventData(Purpose: "marketing", Granted: true)),
        new("c2", CustomerEventTypes.ConsentChanged, Now.AddDays(-1), "app", "email", new EventData(Purpose: "marketing", Granted: false)),
        new("k1", CustomerEventTypes.ComplaintOpened, Now.AddDays(-9), "pbx", "phone", new EventData(CaseId: "case-1", Subject: "Wrong bill")),
        new("k2", CustomerEventTypes.ComplaintAnswered, Now.AddDays(-8), "crm", "email", new EventData(CaseId: "case-1", Agent: "agent-3")),
        new("k3", CustomerEventTypes.ComplaintClosed, Now.AddDays(-7), "crm", null, new EventData(CaseId: "case-1")),
        new("q1", CustomerEventTypes.EnquiryOpened, Now.AddDays(-3), "chat", "chat", new EventData(CaseId: "case-2", Subject: "Roaming")),
        new("o1", CustomerEventTypes.ProductOpened, Now.AddDays(-400), "core", null, new EventData(ProductId: "savings", ProductName: "Savings", Category: "deposit")),
        new("o2", CustomerEventTypes.ProductClosed, Now.AddDays(-6), "core", null, new EventData(ProductId: "savings")),
        new("v1", CustomerEventTypes.WebVisit, Now.AddHours(-5), "web", "web", new EventData(Url: "/offers")),
        new("i1", CustomerEventTypes.CallInbound, Now.AddHours(-2), "pbx", "phone", new EventData(Agent: "agent-9", Outcome: "callback")),
    ];

    [Fact]
    public void Aggregates_sum_counts_and_windows_from_events()
    {
        var view = Fold(SampleEvents());
        var t = view.Transactions;

        Assert.Equal(3, t.PurchaseCount);
        Assert.Equal(150.25m, t.PurchaseTotal);
        Assert.Equal(4, t.ItemsBought);
        Assert.Equal(Now.AddDays(-200), t.FirstPurchaseAt);
        Assert.Equal(Now.AddDays(-5), t.LastPurchaseAt);
        Assert.Equal(50.25m, t.Spend30Days);
        Assert.Equal(150.25m, t.Spend365Days);
        Assert.Equal((1, 5000m, 1, 4500m), (t.DepositCount, t.DepositTotal, t.WithdrawalCount, t.WithdrawalTotal));
        Assert.Equal((1, 1, 1), (t.PaymentsDue, t.PaymentsPaid, t.PaymentsLate));
    }

    [Fact]
    public void Profile_consents_cases_and_products_keep_the_latest_by_occurred_time()
    {
        var view = Fold(SampleEvents());

        Assert.Equal(("Ada", "Lovelace", "north"), (view.FirstName, view.LastName, view.Region));
        Assert.Equal(["ada@new.example", "ada@old.example"], view.Emails);
        Assert.Equal(["+14155550100"], view.Phones);
        var consent = Assert.Single(view.Consents);
        Assert.False(consent.Granted);
        var closed = Assert.Single(view.RecentCases);
        Assert.Equal(("case-1", "complaint", "closed", "agent-3"), (closed.CaseId, closed.Kind, closed.Status, closed.Agent));
        var open = Assert.Single(view.OpenCases);
        Assert.Equal(("case-2", "enquiry", "opened"), (open.CaseId, open.Kind, open.Status));
        Assert.Equal("closed", Assert.Single(view.Products).Status);
        Assert.Equal("i1", view.RecentContacts[0].EventId);
        Assert.Equal("inbound", view.RecentContacts[0].Direction);
    }

    [Fact]
    public void Any_order_of_the_same_events_gives_the_same_view()
    {
        var inOrder = Fold(SampleEvents().OrderBy(e => e.OccurredAt));
        var random = new Random(20261123);
        for (var i = 0; i < 25; i++)
        {
            var shuffled = SampleEvents().OrderBy(_ => random.Next()).ToArray();
            Assert.Equivalent(inOrder, Fold(shuffled), strict: true);
        }
    }

    [Fact]
    public void Recent_contacts_are_bounded_and_keep_the_newest()
    {
        var events = Enumerable.Range(0, 200)
            .Select(i => new CustomerEvent($"v{i:000}", CustomerEventTypes.WebVisit, Now.AddMinutes(-i), "web", "web", EventData.Empty))
            .Reverse();

        var view = Fold(events);

        Assert.Equal(CustomerAggregate.RecentContactLimit, view.RecentContacts.Length);
        Assert.Equal("v000", view.RecentContacts[0].EventId);
        Assert.Equal(200, view.EventCount);
    }

    [Fact]
    public void Merging_fills_gaps_but_keeps_the_survivors_own_profile()
    {
        var state = new CustomerState();
        CustomerAggregate.ApplyProfile(state, new CustomerProfile("Ada", Email: "ada@a.example"), Now.AddDays(-50), merging: false);

        CustomerAggregate.ApplyProfile(state, new CustomerProfile("Augusta", "King", "ada@b.example", Region: "east"), Now, merging: true);

        Assert.Equal(("Ada", "King", "east"), (state.FirstName, state.LastName, state.Region));
        Assert.Equal(2, state.Emails.Count);
    }

    private static CustomerView Fold(IEnumerable<CustomerEvent> events)
    {
        var state = new CustomerState();
        foreach (var e in events)
        {
            CustomerAggregate.Apply(state, e, Now);
        }

        return CustomerAggregate.View(state, "x", Now);
    }
}
