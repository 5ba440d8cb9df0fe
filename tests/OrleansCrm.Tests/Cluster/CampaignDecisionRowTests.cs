using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using OrleansCrm.Campaigns;
using OrleansCrm.Customers;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>
/// A customer's campaign decisions are rows of their own, stored with the contact and the action they lead to: the
/// snapshot does not grow with the campaigns a customer has seen, and a repeated call still finds the decision.
/// </summary>
public abstract class CampaignDecisionRowTests(StorageClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private IServiceProvider Silo => Cluster.GetActiveSilos().OfType<InProcessSiloHandle>().First().SiloHost!.Services;

    private static CampaignStep Step(string campaignId) => new(
        campaignId,
        "s1",
        new CampaignDefinition(
            "Spring offer",
            CampaignTypes.SingleStep,
            ["any"],
            Channels: ["email"],
            Templates: new() { ["email"] = new MessageTemplate("Hello {{ customer.firstName }}", "Dear {{ customer.firstName }}", Html: false) },
            Policy: new ContactPolicySettings(QuietFromHour: 0, QuietToHour: 0)),
        null);

    private async Task<ICustomerGrain> CustomerAsync(string id)
    {
        // No marketing consent: every decision is a suppression, which logs no contact, so only the decisions differ.
        var customer = Cluster.Client.GetCustomer(id);
        await customer.UpsertProfileAsync(new CustomerProfile("Rui", "Costa"), "p", null);
        return customer;
    }

    private async Task<int> SnapshotBytesAfterDeactivationAsync(string id)
    {
        await Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        return (await Silo.GetRequiredService<ICustomerLog>().ReadCustomerAsync(id, 0)).Snapshot!.Payload.Length;
    }

    [Fact]
    public async Task A_customers_snapshot_does_not_grow_with_the_campaigns_it_was_decided_for()
    {
        var id = "cdr-" + Guid.NewGuid().ToString("N")[..8];
        var customer = await CustomerAsync(id);
        var first = await customer.DecideCampaignAsync(Step($"{id}-c0"));
        Assert.Equal(ContactOutcomes.Suppressed, first.Outcome);
        var afterOne = await SnapshotBytesAfterDeactivationAsync(id);

        for (var i = 1; i <= 40; i++)
        {
            Assert.False((await customer.DecideCampaignAsync(Step($"{id}-c{i}"))).Repeat);
        }

        var afterForty = await SnapshotBytesAfterDeactivationAsync(id);
        Assert.InRange(afterForty - afterOne, -64, 64);

        var rows = await Silo.GetRequiredService<ICustomerLog>().ReadDecisionsAsync(id);
        Assert.Equal(41, rows.Count);
        var repeat = await customer.DecideCampaignAsync(Step($"{id}-c7"));
        Assert.True(repeat.Repeat);
        Assert.Equal(first.Outcome, repeat.Outcome);
        Assert.Equal(first.Reason, repeat.Reason);
    }

    [Fact]
    public async Task Decisions_an_earlier_version_kept_in_the_snapshot_answer_repeats_are_emitted_and_move_to_rows()
    {
        var id = "cdl-" + Guid.NewGuid().ToString("N")[..8];
        await CustomerAsync(id);
        await SnapshotBytesAfterDeactivationAsync(id);

        // A snapshot as an earlier version wrote it: one decision stored, one contact decided but not yet emitted.
        var log = Silo.GetRequiredService<ICustomerLog>();
        var serializer = Silo.GetRequiredService<Orleans.Serialization.Serializer<CustomerState>>();
        var stored = (await log.ReadCustomerAsync(id, 0)).Snapshot!;
        var state = serializer.Deserialize(stored.Payload)!;
        var at = DateTimeOffset.UtcNow.AddDays(-1);
        state.CampaignDecisions[$"{id}-old/s1"] = new CampaignDecisionRecord($"{id}-old", "s1", ContactOutcomes.Suppressed, "quiet-hours", null, at,
            DateOnly.FromDateTime(at.UtcDateTime), 0, Pending: false, null, null, false, null);
        state.CampaignDecisions[$"{id}-due/s1"] = new CampaignDecisionRecord($"{id}-due", "s1", ContactOutcomes.Send, null, "email", at,
            DateOnly.FromDateTime(at.UtcDateTime), 0, Pending: true, "Hello Rui", "Dear Rui", false, null);
        var written = await Silo.GetRequiredService<ICustomerWriter>().CommitAsync(new CustomerCommit(id, [],
            Snapshot: new SnapshotWrite(serializer.SerializeToArray(state), stored.AppliedSequence, stored.Version, AppliedSince: 0)));
        Assert.False(written.SnapshotConflict);

        // The pending one is emitted when the customer wakes, once; the stored one answers a repeat.
        var customer = Cluster.Client.GetCustomer(id);
        var old = await customer.DecideCampaignAsync(Step($"{id}-old"));
        Assert.True(old.Repeat);
        Assert.Equal("quiet-hours", old.Reason);
        var actions = Silo.GetRequiredService<ICampaignActionStore>();
        var emitted = Assert.Single(await actions.ForCustomersAsync([id]));
        Assert.Equal($"{id}-due", emitted.CampaignId);
        Assert.Equal("Dear Rui", emitted.Body);

        // The customer's next decision moves them to rows, and the snapshot no longer holds them.
        await customer.DecideCampaignAsync(Step($"{id}-new"));
        await SnapshotBytesAfterDeactivationAsync(id);
        var keys = (await log.ReadDecisionsAsync(id)).Select(d => d.Key).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal([$"{id}-due/s1", $"{id}-new/s1", $"{id}-old/s1"], keys);
        Assert.Empty(serializer.Deserialize((await log.ReadCustomerAsync(id, 0)).Snapshot!.Payload)!.CampaignDecisions);
        Assert.True((await customer.DecideCampaignAsync(Step($"{id}-due"))).Repeat);
        Assert.True((await customer.DecideCampaignAsync(Step($"{id}-old"))).Repeat);
        Assert.Single(await actions.ForCustomersAsync([id]));
    }
}

[Collection(SqliteClusterCollection.Name)]
public sealed class SqliteCampaignDecisionRowTests(SqliteClusterFixture fixture) : CampaignDecisionRowTests(fixture);

[Collection(PostgresClusterCollection.Name)]
public sealed class PostgresCampaignDecisionRowTests(PostgresClusterFixture fixture) : CampaignDecisionRowTests(fixture);
