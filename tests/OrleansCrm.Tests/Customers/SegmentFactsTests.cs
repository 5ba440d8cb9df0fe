using OrleansCrm.Customers;
using OrleansCrm.Decisions;
using OrleansCrm.Segments;

namespace OrleansCrm.Tests.Customers;

/// <summary>Segment definitions evaluated over a real customer's state, as the customer grain will evaluate them.</summary>
public sealed class SegmentFactsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    private static Func<string, object?> FactsOf(params CustomerEvent[] events)
    {
        var state = new CustomerState { Exists = true };
        foreach (var e in events)
        {
            CustomerAggregate.Apply(state, e, Now);
        }

        return CustomerDecisions.Facts(state, null, Now, DecisionSnapshot.Empty);
    }

    [Fact]
    public void A_definition_reads_profile_consent_and_time_facts_of_the_customer()
    {
        var expression = SegmentExpression.Parse("""region in ("north", "east") and consent.email.marketing = true and email exists and daysSinceLastPurchase > 90""");
        var lapsed = FactsOf(
            new("p", CustomerEventTypes.ProfileChanged, Now.AddDays(-400), "t", null, new EventData(Profile: new CustomerProfile(Email: "a@example.com", Region: "North"))),
            new("c", CustomerEventTypes.ConsentChanged, Now.AddDays(-300), "t", "email", new EventData(Purpose: "marketing", Granted: true)),
            new("b", CustomerEventTypes.Purchase, Now.AddDays(-120), "t", "web", new EventData(Amount: 10)));
        var recent = FactsOf(
            new("p", CustomerEventTypes.ProfileChanged, Now.AddDays(-400), "t", null, new EventData(Profile: new CustomerProfile(Email: "b@example.com", Region: "north"))),
            new("c", CustomerEventTypes.ConsentChanged, Now.AddDays(-300), "t", "email", new EventData(Purpose: "marketing", Granted: true)),
            new("b", CustomerEventTypes.Purchase, Now.AddDays(-10), "t", "web", new EventData(Amount: 10)));
        var revoked = FactsOf(
            new("p", CustomerEventTypes.ProfileChanged, Now.AddDays(-400), "t", null, new EventData(Profile: new CustomerProfile(Email: "c@example.com", Region: "east"))),
            new("c", CustomerEventTypes.ConsentChanged, Now.AddDays(-300), "t", "email", new EventData(Purpose: "marketing", Granted: false)),
            new("b", CustomerEventTypes.Purchase, Now.AddDays(-120), "t", "web", new EventData(Amount: 10)));

        Assert.True(expression.Evaluate(lapsed));
        Assert.False(expression.Evaluate(recent));
        Assert.False(expression.Evaluate(revoked));
        Assert.True(expression.DependsOnTime);
    }

    [Fact]
    public void Every_declared_customer_fact_has_a_value_for_a_customer_with_a_full_profile_and_is_usable_in_a_segment()
    {
        var facts = FactsOf([
            .. CustomerAggregateTests.SampleEvents(),
            new("full", CustomerEventTypes.ProfileChanged, Now.AddDays(-1), "t", null, new EventData(Profile: new CustomerProfile(
                BirthDate: new DateOnly(1980, 5, 1), OrgUnit: "emea", AccountManager: "am-1", PreferredChannel: "email", Tags: ["vip"]))),
            new("o3", CustomerEventTypes.ProductOpened, Now.AddDays(-2), "core", null, new EventData(ProductId: "card")),
        ]);

        Assert.All(Facts.Customer, f => Assert.NotNull(facts("customer." + f.Name)));
        Assert.All(Facts.Customer, f =>
        {
            var expression = SegmentExpression.Parse(f.IsList ? $"{f.Name} exists" : $"{f.Name} != \"nothing\"");
            Assert.Equal(["customer." + f.Name], expression.Fields);
            Assert.Equal(f.MovesWithClock, expression.DependsOnTime);
        });
    }
}
