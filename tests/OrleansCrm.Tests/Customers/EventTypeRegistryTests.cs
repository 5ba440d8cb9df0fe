using OrleansCrm.Customers;
using OrleansCrm.Decisions;
using OrleansCrm.Segments;

namespace OrleansCrm.Tests.Customers;

/// <summary>The registry of event types and scores, as the validation, the fold, the segments and the docs read it.</summary>
public sealed class EventTypeRegistryTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<string> AcceptedTypes() => [.. CustomerEventTypes.Registered.Where(t => t.AcceptedFromCallers).Select(t => t.Name)];

    public static TheoryData<string, string> RequiredFields()
    {
        var data = new TheoryData<string, string>();
        foreach (var type in CustomerEventTypes.Registered.Where(t => t.AcceptedFromCallers))
        {
            foreach (var field in type.Requires)
            {
                data.Add(type.Name, field.Path);
            }
        }

        return data;
    }

    /// <summary>An event of <paramref name="type"/> carrying exactly its required fields, except <paramref name="without"/>.</summary>
    private static CustomerEvent Minimal(string type, string? without = null)
    {
        // A valid outcome on every event: offer.outcome checks its value, other types ignore it.
        var e = new CustomerEvent("e-" + type, type, Now.AddHours(-1), "test", null, new EventData(Outcome: "accepted"));
        foreach (var field in CustomerEventTypes.Find(type)!.Requires.Where(f => f.Path != without))
        {
            e = field.Path switch
            {
                "channel" => e with { Channel = "email" },
                "data.amount" => e with { Data = e.Data with { Amount = 12.5m } },
                "data.productId" => e with { Data = e.Data with { ProductId = "savings" } },
                "data.caseId" => e with { Data = e.Data with { CaseId = "case-1" } },
                "data.purpose" => e with { Data = e.Data with { Purpose = "marketing" } },
                "data.granted" => e with { Data = e.Data with { Granted = true } },
                "data.profile" => e with { Data = e.Data with { Profile = new CustomerProfile("Ada") } },
                "data.offerId" => e with { Data = e.Data with { OfferId = "offer-1" } },
                "data.campaign" => e with { Data = e.Data with { Campaign = "spring" } },
                _ => throw new InvalidOperationException($"No test value for {field.Path}: add one here."),
            };
        }

        return e;
    }

    [Theory]
    [MemberData(nameof(AcceptedTypes))]
    public void Every_registered_type_is_accepted_with_its_required_fields(string type)
    {
        var errors = CustomerEventRules.Validate(Minimal(type), Now);

        Assert.Empty(errors);
    }

    [Theory]
    [MemberData(nameof(RequiredFields))]
    public void A_missing_required_field_is_refused_naming_the_field_and_the_type(string type, string field)
    {
        var errors = CustomerEventRules.Validate(Minimal(type, without: field), Now);

        var (key, problems) = Assert.Single(errors);
        Assert.Equal(field, key);
        Assert.Equal($"is required for {type}", Assert.Single(problems));
    }

    [Theory]
    [InlineData(CustomerEventTypes.Purchase, "data.amount")]
    [InlineData(CustomerEventTypes.PaymentPaid, "data.amount")]
    [InlineData(CustomerEventTypes.ComplaintAnswered, "data.caseId")]
    [InlineData(CustomerEventTypes.EnquiryClosed, "data.caseId")]
    [InlineData(CustomerEventTypes.ProductClosed, "data.productId")]
    [InlineData(CustomerEventTypes.ConsentChanged, "channel")]
    [InlineData(CustomerEventTypes.ConsentChanged, "data.granted")]
    [InlineData(CustomerEventTypes.ProfileChanged, "data.profile")]
    [InlineData(CustomerEventTypes.OfferOutcome, "data.offerId")]
    [InlineData(CustomerEventTypes.CampaignContact, "channel")]
    [InlineData(CustomerEventTypes.CampaignHoldout, "data.campaign")]
    public void The_fields_callers_have_always_had_to_send_are_still_required(string type, string field)
    {
        var e = new CustomerEvent("e", type, Now.AddHours(-1), "test", null, EventData.Empty);

        var errors = CustomerEventRules.Validate(e, Now);

        Assert.Equal($"is required for {type}", Assert.Single(errors[field]));
    }

    [Fact]
    public void An_offer_outcome_must_be_one_of_the_known_answers()
    {
        var offered = Minimal(CustomerEventTypes.OfferOutcome);
        var e = offered with { Data = offered.Data with { Outcome = "maybe" } };

        var errors = CustomerEventRules.Validate(e, Now);

        Assert.Equal("must be accepted, declined or notnow", Assert.Single(errors["data.outcome"]));
    }

    [Fact]
    public void Internal_types_are_refused_from_callers_and_from_rules()
    {
        var erased = new CustomerEvent("e", CustomerEventTypes.CustomerErased, Now.AddHours(-1), "test", null, EventData.Empty);

        var errors = CustomerEventRules.Validate(erased, Now);

        Assert.Contains("cannot be recorded", Assert.Single(errors["type"]), StringComparison.Ordinal);
        Assert.DoesNotContain(CustomerEventTypes.CustomerErased, CustomerEventTypes.All);
        var rule = new Rule("r", "on erasure", true, new RuleWhen(CustomerEventTypes.CustomerErased, null), [new RuleAction("tag", "x", null, null, null, null, null)]);
        Assert.Contains("when.type", DecisionValidation.ValidateRule(rule, "", null).Keys);
    }

    [Fact]
    public void An_unknown_type_is_refused_by_name()
    {
        var e = new CustomerEvent("e", "complaint.escalated", Now.AddHours(-1), "test", null, EventData.Empty);

        var errors = CustomerEventRules.Validate(e, Now);

        Assert.Equal("unknown event type \"complaint.escalated\"", Assert.Single(Assert.Single(errors).Value));
    }

    [Theory]
    [InlineData(CustomerEventTypes.WebVisit, "inbound", "web")]
    [InlineData(CustomerEventTypes.EmailOpened, "inbound", "email")]
    [InlineData(CustomerEventTypes.EmailClicked, "inbound", "email")]
    [InlineData(CustomerEventTypes.CallInbound, "inbound", "phone")]
    [InlineData(CustomerEventTypes.CallOutbound, "outbound", "phone")]
    [InlineData(CustomerEventTypes.ComplaintOpened, "inbound", null)]
    [InlineData(CustomerEventTypes.ComplaintAnswered, "outbound", null)]
    [InlineData(CustomerEventTypes.EnquiryClosed, "outbound", null)]
    [InlineData(CustomerEventTypes.OfferOutcome, "inbound", null)]
    public void A_contact_without_a_channel_is_listed_with_its_direction_and_channel_family(string type, string direction, string? channel)
    {
        var view = Fold(Minimal(type));

        var contact = Assert.Single(view.RecentContacts);
        Assert.Equal((type, direction, channel), (contact.Type, contact.Direction, contact.Channel));
    }

    [Fact]
    public void Every_type_declared_a_contact_appears_in_recent_contacts_and_no_other()
    {
        foreach (var type in CustomerEventTypes.Registered.Where(t => t.AcceptedFromCallers))
        {
            var e = Minimal(type.Name) with { Channel = "chat" };

            var contacts = Fold(e).RecentContacts;

            if (type.IsContact)
            {
                var contact = Assert.Single(contacts);
                Assert.Equal((type.Name, type.Direction, "chat"), (contact.Type, contact.Direction, contact.Channel));
            }
            else
            {
                Assert.Empty(contacts);
            }
        }
    }

    [Fact]
    public void Contact_kinds_and_case_kinds_carry_what_the_fold_needs()
    {
        Assert.All(CustomerEventTypes.Registered.Where(t => t.Kind is EventKind.Contact or EventKind.Case), t => Assert.NotNull(t.Direction));
        Assert.All(CustomerEventTypes.Registered.Where(t => t.Kind == EventKind.Case), t =>
        {
            Assert.NotNull(t.Stage);
            Assert.Contains(EventFields.CaseId, t.Requires);
        });
        Assert.Equal(CustomerEventTypes.Registered.Count, CustomerEventTypes.Registered.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Cases_open_answer_and_close_by_the_declared_stage()
    {
        var view = Fold(
            Minimal(CustomerEventTypes.EnquiryOpened) with { EventId = "a", OccurredAt = Now.AddHours(-3), Data = new EventData(CaseId: "q-1", Subject: "Roaming") },
            Minimal(CustomerEventTypes.EnquiryAnswered) with { EventId = "b", OccurredAt = Now.AddHours(-2), Data = new EventData(CaseId: "q-1", Agent: "agent-1") });

        var open = Assert.Single(view.OpenCases);
        Assert.Equal(("q-1", "enquiry", "answered", "Roaming", "agent-1"), (open.CaseId, open.Kind, open.Status, open.Subject, open.Agent));
    }

    [Fact]
    public void The_transactions_import_carries_exactly_the_transaction_types_each_with_an_amount()
    {
        Assert.Equal(
            [CustomerEventTypes.Purchase, CustomerEventTypes.Deposit, CustomerEventTypes.Withdrawal, CustomerEventTypes.PaymentDue, CustomerEventTypes.PaymentPaid],
            CustomerEventTypes.TransactionImportTypes);
        Assert.All(CustomerEventTypes.TransactionImportTypes, t => Assert.Contains(EventFields.Amount, CustomerEventTypes.Find(t)!.Requires));
    }

    [Fact]
    public void Every_score_the_view_computes_is_declared_and_reachable_from_a_segment_by_name()
    {
        var state = new CustomerState { Exists = true, CreatedAt = Now.AddYears(-2) };
        foreach (var e in CustomerAggregateTests.SampleEvents())
        {
            CustomerAggregate.Apply(state, e, Now);
        }

        var decisions = DecisionSnapshot.Empty with
        {
            Rfm = new RfmThresholds([10, 30, 90, 180], [1, 2, 3, 5], [50, 100, 200, 500], 100, Now),
            Offers = [new Offer("o-1", "Card", "cards", ["email"], 100)],
        };

        var computed = CustomerDecisions.Scores(state, Now, decisions).Keys.ToList();

        Assert.Contains(CustomerScores.Rfm, computed);
        Assert.Contains(CustomerScores.ResponsePropensityFor("cards", "email"), computed);
        Assert.All(computed.Where(n => n != CustomerScores.ResponsePropensityFor("cards", "email")), n => Assert.NotNull(CustomerScores.Find(n)));
        Assert.All(CustomerScores.All, s =>
            Assert.Equal(["customer.scores." + s.Name], SegmentExpression.Parse($"{s.Name} >= 0").Fields));
    }

    [Fact]
    public void Only_scores_declared_to_move_with_the_clock_make_a_segment_time_dependent()
    {
        Assert.False(SegmentExpression.Parse($"{CustomerScores.HistoricalValue} > 100").DependsOnTime);
        Assert.True(SegmentExpression.Parse($"{CustomerScores.ChurnRisk} > 0.5").DependsOnTime);
        Assert.True(SegmentExpression.Parse("scores.ruleMade > 1").DependsOnTime);
    }

    private static CustomerView Fold(params CustomerEvent[] events)
    {
        var state = new CustomerState { Exists = true };
        foreach (var e in events)
        {
            CustomerAggregate.Apply(state, e, Now);
        }

        return CustomerAggregate.View(state, "c-1", Now);
    }
}
