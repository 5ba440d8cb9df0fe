using Orleans.TestingHost;
using OrleansCrm.Customers;

namespace OrleansCrm.Tests.Cluster;

/// <summary>What was acknowledged is still there after the silo holding it goes away.</summary>
public abstract class GrainStateDurabilityTests(StorageClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task Customer_state_survives_a_silo_restart()
    {
        var id = "dur-" + Guid.NewGuid().ToString("N")[..8];
        var written = await Cluster.Client.GetCustomer(id).UpsertProfileAsync(new CustomerProfile("Ada", "Lovelace", "ada@example.com", "+44 20 7946 0000"));

        // Every silo goes away, so nothing can survive in memory or move with a migrating activation.
        await Cluster.StopAllSilosAsync();
        await Cluster.StartAdditionalSilosAsync(2);
        await Cluster.InitializeClientAsync();

        var view = await Cluster.Client.GetCustomer(id).GetViewAsync();
        Assert.NotNull(view);
        Assert.Equal(written, view);
        Assert.Equal(1, view.Revision);
    }

    [Fact]
    public async Task All_digit_ids_that_differ_only_in_leading_zeros_are_different_customers()
    {
        var suffix = Random.Shared.Next(100_000, 999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Cluster.Client.GetCustomer("0" + suffix).UpsertProfileAsync(new CustomerProfile("Zero", null, null, null));
        await Cluster.Client.GetCustomer(suffix).UpsertProfileAsync(new CustomerProfile("Plain", null, null, null));

        Assert.Equal("Zero", (await Cluster.Client.GetCustomer("0" + suffix).GetViewAsync())?.FirstName);
        Assert.Equal("Plain", (await Cluster.Client.GetCustomer(suffix).GetViewAsync())?.FirstName);
    }

    [Fact]
    public async Task An_unchanged_profile_is_not_written_again()
    {
        var id = "same-" + Guid.NewGuid().ToString("N")[..8];
        var customer = Cluster.Client.GetCustomer(id);
        await customer.UpsertProfileAsync(new CustomerProfile("Grace", "Hopper", null, null));

        var again = await customer.UpsertProfileAsync(new CustomerProfile("Grace", null, null, null));
        var changed = await customer.UpsertProfileAsync(new CustomerProfile(null, null, "grace@example.com", null));

        Assert.Equal(1, again.Revision);
        Assert.Equal(2, changed.Revision);
        Assert.Equal("Hopper", changed.LastName);
    }
}

[Collection(SqliteClusterCollection.Name)]
public sealed class SqliteGrainStateDurabilityTests(SqliteClusterFixture fixture) : GrainStateDurabilityTests(fixture);

[Collection(PostgresClusterCollection.Name)]
public sealed class PostgresGrainStateDurabilityTests(PostgresClusterFixture fixture) : GrainStateDurabilityTests(fixture);
