using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.TestingHost;
using OrleansCrm.Access;
using OrleansCrm.Campaigns;
using OrleansCrm.Customers;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>
/// The unit rule lives in the customer grain, so every path that reaches a customer obeys it, whichever endpoint (or
/// grain) the call came through: a caller of one unit finds another unit's customer exactly as it finds a missing one,
/// cannot record an event that moves a customer out of its unit, and a campaign decides only for its own unit.
/// </summary>
[Collection(SqliteClusterCollection.Name)]
public sealed class CallerReachTests(SqliteClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private IServiceProvider Silo => Cluster.GetActiveSilos().OfType<InProcessSiloHandle>().First().SiloHost!.Services;

    [Fact]
    public async Task A_customer_of_another_unit_answers_every_call_as_a_missing_one()
    {
        var id = "reach-" + Guid.NewGuid().ToString("N")[..8];
        var customer = Cluster.Client.GetCustomer(id);
        await customer.UpsertProfileAsync(new CustomerProfile("Fang", "Li", $"{id}@example.com", OrgUnit: "cn/shanghai"), "p", null);
        try
        {
            CallerReach.Set("cn/beijing");
            var missing = Cluster.Client.GetCustomer("reach-missing-" + Guid.NewGuid().ToString("N")[..8]);
            Assert.Null(await missing.GetViewAsync());
            await Assert.ThrowsAsync<CustomerNotFoundException>(() => customer.GetViewAsync());
            await Assert.ThrowsAsync<CustomerNotFoundException>(() => customer.GetHistoryAsync(null, 10));
            await Assert.ThrowsAsync<CustomerNotFoundException>(() => customer.GetNextBestActionsAsync());
            await Assert.ThrowsAsync<CustomerNotFoundException>(() => customer.ExportAsync());
            await Assert.ThrowsAsync<CustomerNotFoundException>(() => customer.EraseAsync(null));
            await Assert.ThrowsAsync<CustomerNotFoundException>(() => Cluster.Client.GetGrain<ICustomerLiveGrain>(CustomerKeys.GrainKey(id)).WatchAsync(TimeSpan.FromSeconds(5)));
            await Assert.ThrowsAsync<CustomerNotFoundException>(() => customer.RecordEventsAsync(
                [new CustomerEvent("visit", CustomerEventTypes.WebVisit, DateTimeOffset.UtcNow, "web", "web", EventData.Empty)], createIfMissing: true));
            await Assert.ThrowsAsync<CustomerNotFoundException>(() => customer.UpsertProfileAsync(new CustomerProfile("Mallory"), "steal", null));

            // A segment preview or a static list answers it as missing too; the unit itself may be asked.
            Assert.Null(await customer.MatchesAsync("firstName = \"Fang\""));
            Assert.Null(await customer.ListInStaticSegmentAsync("reach-list", 1));
            Assert.Equal("cn/shanghai", await customer.GetOrgUnitAsync());
        }
        finally
        {
            RequestContext.Clear();
        }

        var view = await customer.GetViewAsync();
        Assert.Equal("Fang", view!.FirstName);
        Assert.Single(view.Emails);
    }

    [Fact]
    public async Task A_caller_of_a_unit_cannot_move_a_customer_out_of_it_and_the_customers_it_creates_are_of_its_unit()
    {
        var id = "reach-" + Guid.NewGuid().ToString("N")[..8];
        var created = "reach-new-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            CallerReach.Set("cn/beijing");
            var customer = Cluster.Client.GetCustomer(id);
            await customer.UpsertProfileAsync(new CustomerProfile("Wei", OrgUnit: "cn/beijing"), "p", null);
            var move = new CustomerEvent("move", CustomerEventTypes.ProfileChanged, DateTimeOffset.UtcNow, "api", null,
                new EventData(Profile: new CustomerProfile(OrgUnit: "cn/shanghai")));
            var refused = await Assert.ThrowsAsync<OutsideUnitException>(() => customer.RecordEventsAsync([move], createIfMissing: false));
            Assert.Equal("data.profile.orgUnit", refused.Field);
            await Assert.ThrowsAsync<OutsideUnitException>(() => customer.UpsertProfileAsync(new CustomerProfile(OrgUnit: ""), "to-root", null));

            var visit = new CustomerEvent("first", CustomerEventTypes.WebVisit, DateTimeOffset.UtcNow.AddMinutes(-1), "web", "web", EventData.Empty);
            await Cluster.Client.GetCustomer(created).RecordEventsAsync([visit], createIfMissing: true);
        }
        finally
        {
            RequestContext.Clear();
        }

        Assert.Equal("cn/beijing", (await Cluster.Client.GetCustomer(id).GetViewAsync())!.OrgUnit);
        var history = await Cluster.Client.GetCustomer(id).GetHistoryAsync(null, 50);
        Assert.DoesNotContain(history.Items, h => h.EventId is "move" or "to-root");

        // In the log, not only in the state: a rebuilt state keeps the unit.
        var log = await Silo.GetRequiredService<ICustomerLog>().ReadAfterAsync(created, 0, 10);
        Assert.Contains(log, row => row.Event.Type == CustomerEventTypes.ProfileChanged && row.Event.Data.Profile?.OrgUnit == "cn/beijing");
        Assert.Equal("cn/beijing", (await Cluster.Client.GetCustomer(created).GetViewAsync())!.OrgUnit);
    }

    [Fact]
    public async Task A_campaign_decides_only_for_customers_of_its_unit_whatever_its_segments_hold()
    {
        var id = "reach-" + Guid.NewGuid().ToString("N")[..8];
        var customer = Cluster.Client.GetCustomer(id);
        await customer.UpsertProfileAsync(new CustomerProfile("Fang", Email: $"{id}@example.com", OrgUnit: "cn/shanghai"), "p", null);
        await customer.RecordEventsAsync(
            [new CustomerEvent("consent", CustomerEventTypes.ConsentChanged, DateTimeOffset.UtcNow.AddMinutes(-5), "api", "email", new EventData(Purpose: "marketing", Granted: true))],
            createIfMissing: false);

        CampaignStep Step(string campaignId, string unit) => new(
            campaignId,
            "s1",
            new CampaignDefinition(
                "Reach",
                CampaignTypes.SingleStep,
                ["any"],
                Channels: ["email"],
                Templates: new() { ["email"] = new MessageTemplate("Hello", "Dear {{ customer.firstName }}", Html: false) },
                Policy: new ContactPolicySettings(QuietFromHour: 0, QuietToHour: 0),
                OrgUnit: unit),
            null);

        var foreign = await customer.DecideCampaignAsync(Step($"{id}-bj", "cn/beijing"));
        Assert.Equal((ContactOutcomes.Suppressed, "unknown-customer"), (foreign.Outcome, foreign.Reason));
        var actions = Silo.GetRequiredService<ICampaignActionStore>();
        Assert.Empty(await actions.ForCustomersAsync([id]));
        Assert.Empty(await Silo.GetRequiredService<ICustomerLog>().ReadDecisionsAsync(id));

        var own = await customer.DecideCampaignAsync(Step($"{id}-sh", "cn/shanghai"));
        Assert.Equal(ContactOutcomes.Send, own.Outcome);
        Assert.Single(await actions.ForCustomersAsync([id]));
    }
}
