using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using OrleansCrm.Customers;

namespace OrleansCrm.Tests.Cluster;

/// <summary>Erasing a customer through the grain on real storage: the lookup index and the log.</summary>
public abstract class CustomerErasureTests(StorageClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Erasing_a_customer_releases_only_its_own_claim_on_a_contact_point_another_customer_holds_too()
    {
        var (erased, other) = (NewId("er"), NewId("keep"));
        var mail = $"{NewId("shared")}@example.com";
        await Cluster.Client.GetCustomer(erased).UpsertProfileAsync(new CustomerProfile("Ada", Email: mail), "p", null);
        await Cluster.Client.GetCustomer(other).UpsertProfileAsync(new CustomerProfile("Bo", Email: mail), "p", null);

        var report = await Cluster.Client.GetCustomer(erased).EraseAsync("test");
        var again = await Cluster.Client.GetCustomer(erased).EraseAsync("another reason");
        var lookup = await Cluster.Client.GetGrain<ICustomerDirectoryGrain>(0).FindAsync("email", mail);

        // The shared e-mail and the name ("ada"), which the lookup by name indexes too.
        Assert.Equal(2, report.ContactPointsReleased);
        Assert.Equal(report, again);
        Assert.Equal([other], lookup.CustomerIds);
        Assert.Equal([mail], (await Cluster.Client.GetCustomer(other).GetViewAsync())!.Emails);
    }

    [Fact]
    public async Task The_erased_log_folds_into_an_anonymised_customer_with_the_same_totals()
    {
        var id = NewId("fold");
        var customer = Cluster.Client.GetCustomer(id);
        var at = DateTimeOffset.UtcNow.AddHours(-1);
        await customer.UpsertProfileAsync(new CustomerProfile("Ada", "Lovelace", "ada@fold.example", Region: "north", Attributes: new() { ["pet"] = "Rex" }), "p", null);
        await customer.RecordEventsAsync(
            [
                new("b1", CustomerEventTypes.Purchase, at, "shop", "web", new EventData(Amount: 40m, Reference: "inv-7")),
                new("k1", CustomerEventTypes.ComplaintOpened, at, "pbx", "phone", new EventData(CaseId: "case-1", Subject: "Broken heater")),
            ],
            createIfMissing: false);

        var report = await customer.EraseAsync(null);
        var log = Cluster.GetActiveSilos().OfType<InProcessSiloHandle>().First().SiloHost!.Services.GetRequiredService<ICustomerLog>();
        var rows = await log.ReadAfterAsync(id, 0, 100);
        var rebuilt = new CustomerState();
        foreach (var row in rows)
        {
            CustomerAggregate.Apply(rebuilt, row.Event, DateTimeOffset.UtcNow);
        }

        Assert.Equal(3, report.LogRowsRedacted);
        Assert.Equal(CustomerEventTypes.CustomerErased, rows[^1].Event.Type);
        Assert.NotNull(rebuilt.Erasure);
        Assert.Null(rebuilt.FirstName);
        Assert.Empty(rebuilt.Emails);
        Assert.Empty(rebuilt.Attributes);
        Assert.Equal("north", rebuilt.Region);
        Assert.Equal(40m, rebuilt.Totals.PurchaseTotal);
        Assert.Null(rebuilt.Cases["case-1"].Subject);
        Assert.All(rows, r => Assert.Null(r.Event.Data.Reference));
    }
}

[Collection(SqliteClusterCollection.Name)]
public sealed class SqliteCustomerErasureTests(SqliteClusterFixture fixture) : CustomerErasureTests(fixture);

[Collection(PostgresClusterCollection.Name)]
public sealed class PostgresCustomerErasureTests(PostgresClusterFixture fixture) : CustomerErasureTests(fixture);
