using System.Text.Json;
using Orleans.TestingHost;
using OrleansCrm.Catalog;
using OrleansCrm.Customers;
using OrleansCrm.Decisions;
using OrleansCrm.Scoring;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>Scores, the rule base and next-best-action, decided in the customer grain on real storage.</summary>
[Collection(SqliteClusterCollection.Name)]
public sealed class DecisionTests(SqliteClusterFixture fixture)
{
    private static readonly TimeSpan PickUp = TimeSpan.FromSeconds(20);

    private TestCluster Cluster => fixture.Cluster;

    private static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private ICustomerGrain Customer(string id) => Cluster.Client.GetCustomer(id);

    private static CustomerEvent Event(string id, string type, double daysAgo, EventData data, string? channel = null) =>
        new(id, type, DateTimeOffset.UtcNow.AddDays(-daysAgo), "test", channel, data);

    private async Task<CustomerView> ViewUntilAsync(string id, Func<CustomerView, bool> condition, string what) =>
        await Poll.UntilAsync(async () => await Customer(id).GetViewAsync() is { } v && condition(v) ? v : null, PickUp, what);

    /// <summary>Adds offers to the shared catalogue (read, change, write with the version read).</summary>
    private async Task AddOffersAsync(params Offer[] offers)
    {
        var catalog = Cluster.Client.GetGrain<ICatalogGrain>(CatalogKinds.Offers);
        for (var attempt = 0; ; attempt++)
        {
            var doc = await catalog.GetAsync();
            var current = doc.Version == 0 ? [] : JsonSerializer.Deserialize<OfferCatalog>(doc.Json, DecisionJson.Options)!.Offers ?? [];
            var next = new OfferCatalog([.. current.Where(o => offers.All(n => n.Id != o.Id)), .. offers]);
            try
            {
                await catalog.PutAsync(JsonSerializer.Serialize(next, DecisionJson.Options), doc.Version);
                return;
            }
            catch (CatalogConflictException) when (attempt < 10)
            {
            }
        }
    }

    private static Condition Tagged(string tag) => new("customer.tags", "contains", JsonSerializer.SerializeToElement(tag));

    [Fact]
    public async Task A_purchase_changes_rfm_and_the_view()
    {
        var id = NewId("rfm");
        await Customer(id).RecordEventsAsync([Event("b1", CustomerEventTypes.Purchase, 300, new EventData(Amount: 20))], createIfMissing: true);
        await Cluster.Client.GetGrain<IRfmGrain>(0).RefreshAsync();
        var before = await ViewUntilAsync(id, v => v.Scores.ContainsKey("rfm"), "RFM thresholds to reach the silos");

        await Customer(id).RecordEventsAsync([Event("b2", CustomerEventTypes.Purchase, 0, new EventData(Amount: 500))], createIfMissing: false);
        var after = (await Customer(id).GetViewAsync())!;

        Assert.NotEqual(before.Scores["rfm"].Label, after.Scores["rfm"].Label);
        Assert.StartsWith("R5", after.Scores["rfm"].Label, StringComparison.Ordinal);
        Assert.Contains(after.Scores["rfm"].Reasons, r => r.Contains("2 purchases", StringComparison.Ordinal));
        Assert.True(after.Scores["rfm"].Value > before.Scores["rfm"].Value);
    }

    [Fact]
    public async Task The_large_deposit_rule_fires_exactly_once_per_qualifying_event()
    {
        var id = NewId("dep");
        var big = Event("dep-1", CustomerEventTypes.Deposit, 1, new EventData(Amount: 25_000));
        await Customer(id).UpsertProfileAsync(new CustomerProfile("Ada"), "p", null);
        await ViewUntilAsync(id, _ => true, "customer");

        var first = await Customer(id).RecordEventsAsync([big], createIfMissing: false);
        var retry = await Customer(id).RecordEventsAsync([big], createIfMissing: false);
        var small = await Customer(id).RecordEventsAsync([Event("dep-2", CustomerEventTypes.Deposit, 1, new EventData(Amount: 500))], createIfMissing: false);
        var second = await Customer(id).RecordEventsAsync([Event("dep-3", CustomerEventTypes.Deposit, 0, new EventData(Amount: 10_000))], createIfMissing: false);

        // The rule raises an alert for the account manager and triggers its campaign: one of each per event.
        static bool Alert(CustomerAlert a) => a.RuleId == "large-deposit-investment" && a.Kind == "alert";
        Assert.Single(first.View.Alerts, Alert);
        Assert.Single(first.View.Alerts, a => a.RuleId == "large-deposit-investment" && a.Kind == "campaign" && a.Message == "large-deposit-investment");
        Assert.Single(retry.View.Alerts, Alert);
        Assert.Single(small.View.Alerts, Alert);
        Assert.Equal(["dep-3", "dep-1"], second.View.Alerts.Where(Alert).Select(a => a.EventId));
        Assert.Contains("investment-prospect", second.View.Tags);
        var offer = Assert.Single(second.View.NextBestActions, n => n.OfferId == "investment-plus");
        Assert.Contains("proposed by rule large-deposit-investment", offer.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ineligible_or_opted_out_offer_never_appears()
    {
        var tag = NewId("elig");
        await AddOffersAsync(new Offer(tag, "North e-mail offer", "test", ["email"], 100, Eligibility: [Tagged(tag), new("customer.region", "=", JsonSerializer.SerializeToElement("north"))]));
        var south = NewId("south");
        var optedOut = NewId("optout");
        var fine = NewId("fine");
        await Customer(south).UpsertProfileAsync(new CustomerProfile(Region: "south", Tags: [tag]), "p", null);
        await Customer(optedOut).UpsertProfileAsync(new CustomerProfile(Region: "north", Tags: [tag]), "p", null);
        await Customer(optedOut).RecordEventsAsync([Event("c", CustomerEventTypes.ConsentChanged, 1, new EventData(Purpose: "marketing", Granted: false), "email")], createIfMissing: false);
        await Customer(fine).UpsertProfileAsync(new CustomerProfile(Region: "north", Tags: [tag]), "p", null);

        var shown = await ViewUntilAsync(fine, v => v.NextBestActions.Any(n => n.OfferId == tag), "the new offer to reach the silos");

        Assert.Equal("email", shown.NextBestActions.Single(n => n.OfferId == tag).Channel);
        Assert.DoesNotContain((await Customer(south).GetViewAsync())!.NextBestActions, n => n.OfferId == tag);
        Assert.DoesNotContain((await Customer(optedOut).GetViewAsync())!.NextBestActions, n => n.OfferId == tag);
    }

    [Fact]
    public async Task Recorded_declines_lower_that_offers_rank_for_similar_customers()
    {
        var tag = NewId("learn");
        var a = tag + "-a";
        var b = tag + "-b";
        await AddOffersAsync(
            new Offer(a, "Offer A", "test", ["phone"], 100, Eligibility: [Tagged(tag)]),
            new Offer(b, "Offer B", "test", ["phone"], 100, Eligibility: [Tagged(tag)]));
        var probe = NewId("probe");
        await Customer(probe).UpsertProfileAsync(new CustomerProfile(Tags: [tag]), "p", null);
        var before = await ViewUntilAsync(probe, v => v.NextBestActions.Count(n => n.OfferId.StartsWith(tag, StringComparison.Ordinal)) == 2, "both offers");
        Assert.Equal(a, before.NextBestActions.First(n => n.OfferId.StartsWith(tag, StringComparison.Ordinal)).OfferId);

        for (var i = 0; i < 8; i++)
        {
            var other = NewId("decliner");
            await Customer(other).UpsertProfileAsync(new CustomerProfile(Tags: [tag]), "p", null);
            await Customer(other).RecordEventsAsync([Event("o", CustomerEventTypes.OfferOutcome, 0, new EventData(OfferId: a, Outcome: "declined"))], createIfMissing: false);
        }

        // Each silo refreshes the learning counts every 2 s: a refresh may land between two declines, so the wait is for
        // all eight to have reached the ranking, not only for the order to flip (it may flip at seven).
        var after = await ViewUntilAsync(
            probe,
            v => v.NextBestActions.Where(n => n.OfferId.StartsWith(tag, StringComparison.Ordinal)).ToList() is [{ OfferId: var first }, { Reason: var reason }]
                && first == b && reason.Contains("8 declined", StringComparison.Ordinal),
            "all eight declines to reach the ranking");
        var ranked = after.NextBestActions.Where(n => n.OfferId.StartsWith(tag, StringComparison.Ordinal)).ToList();
        Assert.True(ranked[0].Propensity > ranked[1].Propensity);
        Assert.Contains("8 declined", ranked[1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Acceptances_on_one_channel_raise_that_channels_propensity_and_steer_the_offer_there()
    {
        var tag = NewId("chan");
        await AddOffersAsync(new Offer(tag, "Two-channel offer", tag, ["phone", "email"], 80, Eligibility: [Tagged(tag)]));
        var probe = NewId("probe");
        await Customer(probe).UpsertProfileAsync(new CustomerProfile(Tags: [tag]), "p", null);
        var before = await ViewUntilAsync(probe, v => v.NextBestActions.Any(n => n.OfferId == tag), "the offer");
        Assert.Equal("phone", before.NextBestActions.Single(n => n.OfferId == tag).Channel);

        for (var i = 0; i < 6; i++)
        {
            var other = NewId("taker");
            await Customer(other).UpsertProfileAsync(new CustomerProfile(Tags: [tag]), "p", null);
            await Customer(other).RecordEventsAsync([Event("o", CustomerEventTypes.OfferOutcome, 0, new EventData(OfferId: tag, Outcome: "accepted"), "email")], createIfMissing: false);
        }

        var after = await ViewUntilAsync(probe, v => v.NextBestActions.Single(n => n.OfferId == tag).Channel == "email", "acceptances to steer the channel");
        Assert.True(after.Scores[$"responsePropensity.{tag}.email"].Value > after.Scores[$"responsePropensity.{tag}.phone"].Value);
    }

    [Fact]
    public async Task A_retrained_model_is_picked_up_by_running_silos()
    {
        var id = NewId("model");
        await Customer(id).UpsertProfileAsync(new CustomerProfile(Attributes: new() { ["tenure"] = "2", ["Contract"] = "Month-to-month" }), "p", null);
        var models = Cluster.Client.GetGrain<ICatalogGrain>(CatalogKinds.Models);
        var version = (await models.GetVersionAsync()) + 1;
        var scorecard = new Scorecard("churn", (int)version, -1, [new NumericFeature("tenure", "tenure (months)", 30, 20, -1.2)],
            [new CategoricalFeature("Contract", "contract", new() { ["Month-to-month"] = 1.1 })], DateTimeOffset.UtcNow, 1000, 0.84);

        await models.PutAsync(JsonSerializer.Serialize(new ModelSet(scorecard, null, null), DecisionJson.Options), null);

        var view = await ViewUntilAsync(id, v => v.Scores["churnRisk"].Label == $"model v{version}", "the new model on the silos");
        var expected = 1 / (1 + Math.Exp(-(-1 + (-1.2 * (2 - 30) / 20.0) + 1.1)));
        Assert.Equal(Math.Round(expected, 4), view.Scores["churnRisk"].Value, 4);
        Assert.Contains(view.Scores["churnRisk"].Reasons, r => r.StartsWith("tenure (months) = 2 raises", StringComparison.Ordinal));
    }
}
