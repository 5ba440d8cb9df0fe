using Orleans.TestingHost;
using OrleansCrm.Customers;

namespace OrleansCrm.Tests.Cluster;

/// <summary>What was acknowledged is still there after the silos holding it go away.</summary>
public abstract class GrainStateDurabilityTests(StorageClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Customer_state_and_history_survive_a_restart_of_every_silo()
    {
        var id = NewId("dur");
        var customer = Cluster.Client.GetCustomer(id);
        await customer.UpsertProfileAsync(new CustomerProfile("Ada", "Lovelace", "ada@example.com", "+44 20 7946 0000"), "p1", "test");
        await customer.RecordEventsAsync(
            [
                new CustomerEvent("e1", CustomerEventTypes.Purchase, DateTimeOffset.UtcNow.AddDays(-3), "shop", "web", new EventData(Amount: 12.5m)),
                new CustomerEvent("e2", CustomerEventTypes.CallInbound, DateTimeOffset.UtcNow.AddDays(-1), "pbx", "phone", new EventData(Agent: "agent-7", Outcome: "resolved")),
            ],
            createIfMissing: false);
        var before = await customer.GetViewAsync();

        // Every silo goes away, so nothing can survive in memory or move with a migrating activation.
        await Cluster.StopAllSilosAsync();
        await Cluster.StartAdditionalSilosAsync(2);
        await Cluster.InitializeClientAsync();

        var after = await Cluster.Client.GetCustomer(id).GetViewAsync();
        Assert.NotNull(after);
        Assert.Equivalent(before, after, strict: true);
        Assert.Equal(12.5m, after.Transactions.PurchaseTotal);
        var history = await Cluster.Client.GetCustomer(id).GetHistoryAsync(null, 10);
        Assert.Equal(["p1", "e2", "e1"], history.Items.Select(i => i.EventId));
    }

    [Fact]
    public async Task All_digit_ids_that_differ_only_in_leading_zeros_are_different_customers()
    {
        var suffix = Random.Shared.Next(100_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Cluster.Client.GetCustomer("0" + suffix).UpsertProfileAsync(new CustomerProfile("Zero"), "a", null);
        await Cluster.Client.GetCustomer(suffix).UpsertProfileAsync(new CustomerProfile("Plain"), "b", null);

        Assert.Equal("Zero", (await Cluster.Client.GetCustomer("0" + suffix).GetViewAsync())?.FirstName);
        Assert.Equal("Plain", (await Cluster.Client.GetCustomer(suffix).GetViewAsync())?.FirstName);
    }

    [Fact]
    public async Task A_repeated_change_id_changes_nothing_and_is_acknowledged_as_a_duplicate()
    {
        var customer = Cluster.Client.GetCustomer(NewId("same"));
        var first = await customer.UpsertProfileAsync(new CustomerProfile("Grace", "Hopper"), "change-1", null);

        var again = await customer.UpsertProfileAsync(new CustomerProfile("Grace", "Hopper"), "change-1", null);

        Assert.False(first.Acks[0].Duplicate);
        Assert.True(again.Acks[0].Duplicate);
        Assert.Equal(first.Acks[0].Sequence, again.Acks[0].Sequence);
        Assert.Equal(1, again.View.EventCount);
    }
}

[Collection(SqliteClusterCollection.Name)]
public sealed class SqliteGrainStateDurabilityTests(SqliteClusterFixture fixture) : GrainStateDurabilityTests(fixture);

[Collection(PostgresClusterCollection.Name)]
public sealed class PostgresGrainStateDurabilityTests(PostgresClusterFixture fixture) : GrainStateDurabilityTests(fixture);
