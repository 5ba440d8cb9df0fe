using OrleansCrm.Campaigns;
using OrleansCrm.Customers;

namespace OrleansCrm.Tests.Campaigns;

/// <summary>The contact policy a customer applies to a campaign step, on state built from real events.</summary>
public sealed class ContactPolicyTests
{
    // A Tuesday, 14:00 UTC: outside quiet hours in UTC and in Paris (15:00), inside them in Tokyo (23:00).
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 14, 0, 0, TimeSpan.Zero);

    private static readonly CampaignDefinition Email = new("Winter offer", CampaignTypes.SingleStep, ["winter"], Channels: ["email", "sms"],
        Templates: new() { ["email"] = new("Hi", "Hello"), ["sms"] = new(null, "Hello") });

    private static CustomerState Customer(params CustomerEvent[] events)
    {
        var state = new CustomerState { Exists = true };
        CustomerAggregate.Apply(state, new CustomerEvent("p", CustomerEventTypes.ProfileChanged, Now.AddDays(-100), "t", null, new EventData(Profile: new CustomerProfile("Ada"))), Now);
        foreach (var e in events)
        {
            CustomerAggregate.Apply(state, e, Now);
        }

        return state;
    }

    private static CustomerEvent Consent(string channel, bool granted, string purpose = "marketing") =>
        new($"consent-{channel}-{granted}", CustomerEventTypes.ConsentChanged, Now.AddDays(-50), "t", channel, new EventData(Purpose: purpose, Granted: granted));

    private static CustomerEvent Sent(string id, string channel, DateTimeOffset at, string campaign = "earlier") =>
        new(id, CustomerEventTypes.CampaignContact, at, "t", channel, new EventData(Campaign: campaign));

    private static CustomerEvent Profile(CustomerProfile profile) => new("p2", CustomerEventTypes.ProfileChanged, Now.AddDays(-1), "t", null, new EventData(Profile: profile));

    private static ContactDecision Decide(CustomerState s, CampaignDefinition? campaign = null, IReadOnlyList<CampaignClaim>? claims = null, DateTimeOffset? at = null) =>
        ContactPolicy.Decide(s, "c1", "winter-1", campaign ?? Email, claims ?? [], at ?? Now);

    [Fact]
    public void A_customer_who_opted_in_gets_the_first_campaign_channel()
    {
        var decision = Decide(Customer(Consent("email", true), Consent("sms", true)));

        Assert.Equal((ContactDecision.Send, null, "email"), (decision.Outcome, decision.Reason, decision.Channel));
    }

    [Fact]
    public void An_opted_out_customer_is_suppressed_for_consent_and_another_consented_channel_is_used()
    {
        var optedOut = Decide(Customer(Consent("email", false)));
        var smsOnly = Decide(Customer(Consent("email", false), Consent("sms", true)));
        var neverAsked = Decide(Customer());
        var neverAskedOptOutMode = Decide(Customer(), Email with { ConsentMode = "optOut" });

        Assert.Equal((ContactDecision.Suppressed, "no-consent"), (optedOut.Outcome, optedOut.Reason));
        Assert.Equal((ContactDecision.Send, "sms"), (smsOnly.Outcome, smsOnly.Channel));
        Assert.Equal("no-consent", neverAsked.Reason);
        Assert.Equal(ContactDecision.Send, neverAskedOptOutMode.Outcome);
    }

    [Fact]
    public void Do_not_contact_wins_over_consent()
    {
        var decision = Decide(Customer(Consent("email", true), Profile(new CustomerProfile(Tags: [ContactPolicy.DoNotContactTag]))));

        Assert.Equal((ContactDecision.Suppressed, "do-not-contact"), (decision.Outcome, decision.Reason));
    }

    [Fact]
    public void A_capped_channel_falls_back_and_when_every_channel_is_capped_the_customer_is_suppressed()
    {
        var emails = Enumerable.Range(1, 3).Select(d => Sent($"e{d}", "email", Now.AddDays(-d))).ToArray();
        var texts = Enumerable.Range(1, 2).Select(d => Sent($"s{d}", "sms", Now.AddDays(-d - 2))).ToArray();
        var old = Enumerable.Range(8, 3).Select(d => Sent($"o{d}", "email", Now.AddDays(-d))).ToArray();

        var fallback = Decide(Customer([Consent("email", true), Consent("sms", true), .. emails]));
        var capped = Decide(Customer([Consent("email", true), Consent("sms", true), .. emails, .. texts]));
        var outsideWindow = Decide(Customer([Consent("email", true), .. old]));

        Assert.Equal((ContactDecision.Send, "sms"), (fallback.Outcome, fallback.Channel));
        Assert.Equal((ContactDecision.Suppressed, "frequency-cap"), (capped.Outcome, capped.Reason));
        Assert.Equal((ContactDecision.Send, "email"), (outsideWindow.Outcome, outsideWindow.Channel));
    }

    [Fact]
    public void One_campaign_contact_a_day_and_the_higher_priority_campaign_keeps_the_slot()
    {
        var state = Customer(Consent("email", true));
        var contactedToday = Customer(Consent("email", true), Sent("t", "email", Now.AddHours(-3)));

        var lower = Decide(state, Email with { Priority = 1 }, [new CampaignClaim("other", 5, Sent: false)]);
        var higher = Decide(state, Email with { Priority = 9 }, [new CampaignClaim("other", 5, Sent: false)]);

        Assert.Equal((ContactDecision.Suppressed, "daily-limit"), (Decide(contactedToday).Outcome, Decide(contactedToday).Reason));
        Assert.Equal((ContactDecision.Suppressed, "lower-priority"), (lower.Outcome, lower.Reason));
        Assert.Equal(ContactDecision.Send, higher.Outcome);
        Assert.Equal(ContactDecision.Send, Decide(contactedToday, Email with { Policy = new(MaxCampaignContactsPerDay: 2) }).Outcome);
    }

    [Fact]
    public void Quiet_hours_follow_the_customers_time_zone_and_defer_to_the_morning()
    {
        var tokyo = Decide(Customer(Consent("email", true), Profile(new CustomerProfile(Attributes: new() { ["timeZone"] = "Asia/Tokyo" }))));
        var paris = Decide(Customer(Consent("email", true), Profile(new CustomerProfile(Attributes: new() { ["timeZone"] = "Europe/Paris" }))));

        Assert.Equal((ContactDecision.Defer, "quiet-hours"), (tokyo.Outcome, tokyo.Reason));
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 8, 0, 0, TimeSpan.FromHours(9)), tokyo.NotBefore);
        Assert.Equal(ContactDecision.Send, paris.Outcome);
    }

    [Fact]
    public void The_control_group_is_stable_and_close_to_its_share()
    {
        var customers = Enumerable.Range(0, 20_000).Select(i => $"c{i}").ToList();

        var held = customers.Count(c => ContactPolicy.InControlGroup("winter-1", c, 0.1));
        var again = customers.Count(c => ContactPolicy.InControlGroup("winter-1", c, 0.1));
        var otherCampaign = customers.Where(c => ContactPolicy.InControlGroup("spring-1", c, 0.1)).ToHashSet();
        var decision = ContactPolicy.Decide(Customer(Consent("email", true)), customers.First(c => ContactPolicy.InControlGroup("winter-1", c, 0.1)), "winter-1", Email with { ControlShare = 0.1 }, [], Now);

        Assert.InRange(held, 1_800, 2_200);
        Assert.Equal(held, again);
        Assert.InRange(customers.Count(c => ContactPolicy.InControlGroup("winter-1", c, 0.1) && otherCampaign.Contains(c)), 100, 300);
        Assert.Equal((ContactDecision.Control, "control-group"), (decision.Outcome, decision.Reason));
    }

    [Fact]
    public void The_customers_preferred_channel_goes_first_when_the_campaign_allows_it()
    {
        var state = Customer(Consent("email", true), Consent("sms", true), Profile(new CustomerProfile(PreferredChannel: "sms")));

        Assert.Equal("sms", Decide(state, Email with { UseCustomerPreferredChannel = true }).Channel);
        Assert.Equal("email", Decide(state).Channel);
    }
}
