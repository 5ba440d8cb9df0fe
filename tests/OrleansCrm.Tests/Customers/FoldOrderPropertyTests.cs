using System.Text.Json;
using CsCheck;
using OrleansCrm.Customers;

namespace OrleansCrm.Tests.Customers;

/// <summary>
/// Events may arrive in any order: the customer's state and view must be the same for every order of the same events.
/// Random histories (CsCheck) drawn from small pools of times, amounts and values, so that ties and late arrivals —
/// the cases an arrival order could decide — are common, each folded in time order and in a random permutation.
/// </summary>
public sealed class FoldOrderPropertyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Few distinct moments (so ties are frequent), within the last 200 days.</summary>
    private static readonly Gen<DateTimeOffset> When = Gen.Int[0, 11].Select(i => Now.AddDays(-i * 17).AddHours(-(i % 3)));

    private static readonly Gen<string> Name = Gen.OneOf("Ada", "Bo", "Cy", "Zoë", "张伟");

    private static readonly Gen<Func<int, CustomerEvent>> Event = Gen.OneOf(
        Gen.Select(When, Gen.OneOf(500m, 1000m, 2500m, 10000m), (at, amount) => (Func<int, CustomerEvent>)(i =>
            new CustomerEvent($"e{i:000}", CustomerEventTypes.Deposit, at, "core", null, new EventData(Amount: amount)))),
        Gen.Select(When, Gen.OneOf(200m, 1000m, 1500m, 6000m), (at, amount) => (Func<int, CustomerEvent>)(i =>
            new CustomerEvent($"e{i:000}", CustomerEventTypes.Withdrawal, at, "core", null, new EventData(Amount: amount)))),
        Gen.Select(When, Gen.OneOf(10m, 99.5m), (at, amount) => (Func<int, CustomerEvent>)(i =>
            new CustomerEvent($"e{i:000}", CustomerEventTypes.Purchase, at, "web", "web", new EventData(Amount: amount)))),
        Gen.Select(When, Gen.Bool, Gen.OneOf("web", "app"), (at, granted, source) => (Func<int, CustomerEvent>)(i =>
            new CustomerEvent($"e{i:000}", CustomerEventTypes.ConsentChanged, at, source, "email", new EventData(Purpose: "marketing", Granted: granted)))),
        Gen.Select(When, Name, Gen.OneOf("north", "south", null), (at, name, region) => (Func<int, CustomerEvent>)(i =>
            new CustomerEvent($"e{i:000}", CustomerEventTypes.ProfileChanged, at, "crm", null,
                new EventData(Profile: new CustomerProfile(name, Region: region, OrgUnit: region is null ? null : "cn/" + region, Attributes: new() { ["tier"] = name }))))),
        Gen.Select(When, Gen.OneOf("accepted", "declined"), (at, outcome) => (Func<int, CustomerEvent>)(i =>
            new CustomerEvent($"e{i:000}", CustomerEventTypes.OfferOutcome, at, "agent", "phone", new EventData(OfferId: "offer-1", Outcome: outcome)))),
        Gen.Select(When, Gen.Bool, Gen.OneOf("Savings", "Savings+"), (at, open, name) => (Func<int, CustomerEvent>)(i =>
            new CustomerEvent($"e{i:000}", open ? CustomerEventTypes.ProductOpened : CustomerEventTypes.ProductClosed, at, "core", null,
                new EventData(ProductId: "savings", ProductName: name, Category: open ? "deposit" : "saving")))),
        Gen.Select(When, Gen.Int[0, 2], Gen.OneOf("Wrong bill", "Roaming"), (at, stage, subject) => (Func<int, CustomerEvent>)(i =>
            new CustomerEvent($"e{i:000}", stage switch { 0 => CustomerEventTypes.ComplaintOpened, 1 => CustomerEventTypes.ComplaintAnswered, _ => CustomerEventTypes.ComplaintClosed },
                at, "crm", "phone", new EventData(CaseId: "case-1", Subject: subject, Agent: subject == "Roaming" ? "agent-1" : "agent-2")))),
        Gen.Select(When, (Func<DateTimeOffset, Func<int, CustomerEvent>>)(at => i =>
            new CustomerEvent($"e{i:000}", CustomerEventTypes.WebVisit, at, "web", "web", new EventData(Url: "/offers")))));

    private static readonly Gen<(CustomerEvent[] Events, int Seed)> History =
        Gen.Select(Event.Array[1, 40], Gen.Int, (makers, seed) => (makers.Select((make, i) => make(i)).ToArray(), seed));

    [Fact]
    public void Every_order_of_the_same_events_gives_the_same_state_and_view()
    {
        History.Sample(
            h =>
            {
                var ordered = Render(h.Events.OrderBy(e => e.OccurredAt).ThenBy(e => e.EventId, StringComparer.Ordinal));
                var random = new Random(h.Seed);
                var shuffled = Render(h.Events.OrderBy(_ => random.Next()));
                Assert.Equal(ordered, shuffled);
            },
            iter: 2_000);
    }

    [Fact]
    public void A_withdrawal_is_weighed_against_what_was_held_at_its_own_time()
    {
        // The probe's case: 10,000 deposited at t1, 1,500 withdrawn at t2 > t1. Not sudden, in either arrival order.
        var deposit = new CustomerEvent("d", CustomerEventTypes.Deposit, Now.AddDays(-3), "core", null, new EventData(Amount: 10_000m));
        var withdrawal = new CustomerEvent("w", CustomerEventTypes.Withdrawal, Now.AddDays(-1), "core", null, new EventData(Amount: 1_500m));
        foreach (var order in new[] { new[] { deposit, withdrawal }, new[] { withdrawal, deposit } })
        {
            var state = Fold(order);
            Assert.False(state.RiskFlags.ContainsKey(CustomerAggregate.LargeWithdrawalFlag), string.Join(", ", order.Select(e => e.EventId)));
        }

        // Half or more of what was held, and 1,000 or more: sudden, dated by the withdrawal, in either order.
        var big = withdrawal with { EventId = "w2", Data = new EventData(Amount: 6_000m), OccurredAt = Now.AddHours(-5) };
        foreach (var order in new[] { new[] { deposit, withdrawal, big }, new[] { big, withdrawal, deposit } })
        {
            Assert.Equal(big.OccurredAt, Fold(order).RiskFlags[CustomerAggregate.LargeWithdrawalFlag]);
        }
    }

    private static CustomerState Fold(IEnumerable<CustomerEvent> events)
    {
        var state = new CustomerState { Exists = true };
        foreach (var e in events)
        {
            CustomerAggregate.Apply(state, e, Now);
        }

        return state;
    }

    /// <summary>The view as a user sees it (order of lists included) and the derived state it is built from.</summary>
    private static string Render(IEnumerable<CustomerEvent> events)
    {
        var state = Fold(events);
        var view = CustomerAggregate.View(state, "c1", Now);
        var sorted = new
        {
            view,
            flags = state.RiskFlags.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray(),
            answers = state.OfferAnswers.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray(),
            state.Totals.MoneyBefore,
            state.Totals.MoneyMoves,
        };
        return JsonSerializer.Serialize(sorted);
    }
}
