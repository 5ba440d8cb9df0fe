using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;
using OrleansCrm.Customers;
using OrleansCrm.Hosting.Configuration;
using OrleansCrm.Silo.Storage;

namespace OrleansCrm.Tests.Cluster;

/// <summary>
/// The lookup index as rows (<c>crm_contact_index</c>): claims ride each customer's group commit, a duplicate claimed
/// at the same moment is still reported, and the index entries earlier versions kept as grain states move to rows.
/// </summary>
public abstract class ContactIndexTests(StorageClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private IServiceProvider Silo => Cluster.GetActiveSilos().OfType<InProcessSiloHandle>().First().SiloHost!.Services;

    private static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private Task<LookupResult> FindAsync(string kind, string value) => Cluster.Client.GetGrain<ICustomerDirectoryGrain>(0).FindAsync(kind, value);

    [Fact]
    public async Task Customers_claiming_one_email_at_the_same_moment_are_all_found_and_every_later_claimant_is_told()
    {
        var mail = $"{NewId("same")}@example.com";
        var ids = Enumerable.Range(0, 48).Select(i => NewId($"c{i}")).ToArray();

        var answers = await Task.WhenAll(ids.Select(id => Cluster.Client.GetCustomer(id).UpsertProfileAsync(new CustomerProfile(Email: mail), "p", null)));
        var lookup = await FindAsync("email", mail);

        Assert.Equal(ids.Order(), lookup.CustomerIds.Order());

        // The first claimant may not have seen the others; every later one must have seen an earlier holder, or a
        // duplicate created in a busy second would go unreported.
        var byId = ids.Zip(answers).ToDictionary(p => p.First, p => p.Second);
        foreach (var later in lookup.CustomerIds.Skip(1))
        {
            Assert.Contains(byId[later].Conflicts, c => c.StartsWith($"email:{mail} is also held by", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_retried_profile_change_is_a_duplicate_and_leaves_one_claim_per_customer()
    {
        var (first, second) = (NewId("a"), NewId("b"));
        var phone = $"+1 415 555 {Random.Shared.Next(1000, 9999)}";
        await Cluster.Client.GetCustomer(first).UpsertProfileAsync(new CustomerProfile("Ida", Phone: phone), "p1", null);
        var claimed = await Cluster.Client.GetCustomer(second).UpsertProfileAsync(new CustomerProfile("Ida", Phone: phone), "p1", null);
        var retried = await Cluster.Client.GetCustomer(second).UpsertProfileAsync(new CustomerProfile("Ida", Phone: phone), "p1", null);

        Assert.Single(claimed.Conflicts);
        Assert.True(retried.Acks[0].Duplicate);
        Assert.Equal([first, second], (await FindAsync("phone", phone)).CustomerIds);
    }

    [Fact]
    public async Task Index_entries_stored_as_grain_states_by_earlier_versions_move_to_rows_in_their_order()
    {
        var services = Silo;
        var (batched, legacy) = ($"email:{NewId("moved")}@example.com", $"phone:+1{Random.Shared.NextInt64(2_000_000_000, 9_999_999_999)}");
        var crmStore = services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Crm);
        var legacyStore = services.GetRequiredKeyedService<IGrainStorage>(BatchedGrainStorage.LegacyStorageName);
        var batchedGrain = GrainId.Create("contact-index", batched);
        var legacyGrain = GrainId.Create("contact-index", legacy);
        await crmStore.WriteStateAsync("contactindex", batchedGrain, new GrainState<ContactIndexState>(new ContactIndexState { Holders = ["z-first", "a-second", "m-third"] }));
        await legacyStore.WriteStateAsync("contactindex", legacyGrain, new GrainState<ContactIndexState>(new ContactIndexState { Holders = ["old-1", "old-2"] }));

        var moved = await services.GetRequiredService<AdoNetContactIndex>().MigrateGrainStatesAsync(services, CancellationToken.None);
        var again = await services.GetRequiredService<AdoNetContactIndex>().MigrateGrainStatesAsync(services, CancellationToken.None);

        Assert.Equal(2, moved);
        Assert.Equal(0, again);
        Assert.Equal(["z-first", "a-second", "m-third"], (await FindAsync("email", batched["email:".Length..])).CustomerIds);
        Assert.Equal(["old-1", "old-2"], (await FindAsync("phone", legacy["phone:".Length..])).CustomerIds);

        // The old states are gone (their keys are the e-mail and phone they index).
        var left = new GrainState<ContactIndexState>(new ContactIndexState());
        await crmStore.ReadStateAsync("contactindex", batchedGrain, left);
        Assert.False(left.RecordExists);
        await legacyStore.ReadStateAsync("contactindex", legacyGrain, left);
        Assert.False(left.RecordExists);
    }
}

[Collection(SqliteClusterCollection.Name)]
public sealed class SqliteContactIndexTests(SqliteClusterFixture fixture) : ContactIndexTests(fixture);

[Collection(PostgresClusterCollection.Name)]
public sealed class PostgresContactIndexTests(PostgresClusterFixture fixture) : ContactIndexTests(fixture);
