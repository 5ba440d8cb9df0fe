using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using OrleansCrm.Access;

namespace OrleansCrm.Tests.Cluster;

/// <summary>The audit trail's store: a batch sent again after an attempt whose outcome the sender never learned (the
/// call timed out, but the commit landed) shows each request once.</summary>
public abstract class AuditStoreTests(StorageClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private IAccessStore Store => Cluster.GetActiveSilos().OfType<InProcessSiloHandle>().First().SiloHost!.Services.GetRequiredService<IAccessStore>();

    private static AuditEntry Entry(string actor, string path, string? id) =>
        new(DateTimeOffset.UtcNow, actor, "customers.read", $"GET {path}", null, 200, "allowed", "req-" + path, id);

    [Fact]
    public async Task A_batch_stored_again_adds_only_the_records_it_did_not_hold()
    {
        var actor = "auditor-" + Guid.NewGuid().ToString("N")[..8];
        var first = new[] { Entry(actor, "/a", AuditEntry.NewId()), Entry(actor, "/b", AuditEntry.NewId()) };
        await Store.AppendAuditAsync(first);

        // The retry of the same batch, then a batch holding one of them and a new record, both at once.
        var later = Entry(actor, "/c", AuditEntry.NewId());
        await Task.WhenAll(Store.AppendAuditAsync(first), Store.AppendAuditAsync([first[1], later]));

        var stored = await Store.QueryAuditAsync(actor, null, 0, 100);
        Assert.Equal(["GET /a", "GET /b", "GET /c"], stored.Select(r => r.Entry.Resource).Order());
    }

    [Fact]
    public async Task Records_without_an_id_are_all_kept()
    {
        var actor = "legacy-" + Guid.NewGuid().ToString("N")[..8];
        await Store.AppendAuditAsync([Entry(actor, "/x", null), Entry(actor, "/x", null)]);

        Assert.Equal(2, (await Store.QueryAuditAsync(actor, null, 0, 100)).Length);
    }
}

[Collection(SqliteClusterCollection.Name)]
public sealed class SqliteAuditStoreTests(SqliteClusterFixture fixture) : AuditStoreTests(fixture);

[Collection(PostgresClusterCollection.Name)]
public sealed class PostgresAuditStoreTests(PostgresClusterFixture fixture) : AuditStoreTests(fixture);
