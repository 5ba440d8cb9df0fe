using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using OrleansCrm.Customers;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>
/// The silo's group-commit writer: many customers' writes share one transaction, each customer is answered only with
/// its own rows once they are durable, ids stay idempotent per customer, and the snapshot follows the log off the
/// answer's path.
/// </summary>
public abstract class GroupCommitTests(StorageClusterFixture fixture)
{
    protected TestCluster Cluster => fixture.Cluster;

    protected static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    protected ICustomerWriter Writer => Cluster.GetActiveSilos().OfType<InProcessSiloHandle>().First().SiloHost!.Services.GetRequiredService<ICustomerWriter>();

    protected ICustomerLog Log => Cluster.GetActiveSilos().OfType<InProcessSiloHandle>().First().SiloHost!.Services.GetRequiredService<ICustomerLog>();

    protected static CustomerEvent Purchase(string eventId, decimal amount) =>
        new(eventId, CustomerEventTypes.Purchase, DateTimeOffset.UtcNow.AddMinutes(-5), "pos", "branch", new EventData(Amount: amount));

    [Fact]
    public async Task Concurrent_writes_of_many_customers_share_commits_and_each_gets_exactly_its_own_rows()
    {
        var run = NewId("gc");
        var ids = Enumerable.Range(0, 400).Select(i => $"{run}-{i}").ToArray();
        var batchSizes = new ConcurrentBag<long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == OrleansCrm.Telemetry.CrmMetrics.MeterName && instrument.Name == "crm.writer.batch.commits")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => batchSizes.Add(value));
        listener.Start();

        var writer = Writer;
        var results = await Task.WhenAll(ids.Select(id => writer.CommitAsync(new CustomerCommit(id, [Purchase("a", 1m), Purchase("b", 2m)]))));

        // Every customer got its two events, new, in order; no customer got another's rows.
        Assert.All(results, r => Assert.Equal(["a", "b"], r.Appends.Select(a => a.EventId)));
        Assert.All(results, r => Assert.True(r.Appends.All(a => !a.Existed) && r.Appends[0].Sequence < r.Appends[1].Sequence));
        Assert.Equal(800, results.SelectMany(r => r.Appends).Select(a => a.Sequence).Distinct().Count());
        Assert.True(batchSizes.Max() > 1, $"group commits carried at most {batchSizes.DefaultIfEmpty().Max()} customers' writes");

        // A retry of the same ids, concurrently again, is acknowledged with the first sequences and stores nothing.
        var again = await Task.WhenAll(ids.Select(id => writer.CommitAsync(new CustomerCommit(id, [Purchase("b", 2m), Purchase("a", 1m)]))));
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.All(again[i].Appends, a => Assert.True(a.Existed));
            Assert.Equal(results[i].Appends.Select(a => a.Sequence).Order(), again[i].Appends.Select(a => a.Sequence).Order());
            Assert.Equal(2, (await Log.ReadAfterAsync(ids[i], 0, 10)).Count);
        }
    }

    [Fact]
    public async Task An_acknowledged_event_is_in_the_view_at_once_and_the_snapshot_catches_up_off_the_answers_path()
    {
        var id = NewId("snap");
        var customer = Cluster.Client.GetCustomer(id);
        await customer.UpsertProfileAsync(new CustomerProfile("Lin"), "p", null);
        var recorded = await customer.RecordEventsAsync([Purchase("e1", 30m)], createIfMissing: false);
        Assert.Equal(30m, recorded.View.Transactions.PurchaseTotal);

        // Within the snapshot delay (5 s) and without another call, the stored snapshot covers the event's log row.
        var lastSequence = recorded.Acks[0].Sequence;
        var snapshot = await Poll.UntilAsync(
            async () => (await Log.ReadCustomerAsync(id, 0)).Snapshot is { } s && s.AppliedSequence >= lastSequence ? s : null,
            TimeSpan.FromSeconds(30),
            "the snapshot to cover the acknowledged event");
        Assert.True(snapshot.Version >= 1);
    }

    [Fact]
    public async Task A_snapshot_written_over_a_version_it_did_not_read_is_refused_and_the_log_rows_beside_it_stand()
    {
        var id = NewId("race");
        var writer = Writer;
        var serializer = Cluster.GetActiveSilos().OfType<InProcessSiloHandle>().First().SiloHost!.Services.GetRequiredService<Orleans.Serialization.Serializer<CustomerState>>();
        var winner = serializer.SerializeToArray(new CustomerState { FirstName = "First" });
        var first = await writer.CommitAsync(new CustomerCommit(id, [], Snapshot: new SnapshotWrite(winner, 0, ExpectedVersion: 0)));
        Assert.Equal(1, first.SnapshotVersion);

        // A second activation that still believes no snapshot exists loses, but its events are logged.
        var loser = serializer.SerializeToArray(new CustomerState { FirstName = "Second" });
        var stale = await writer.CommitAsync(new CustomerCommit(id, [Purchase("x", 5m)], Snapshot: new SnapshotWrite(loser, 0, ExpectedVersion: 0)));
        Assert.True(stale.SnapshotConflict);
        Assert.Null(stale.SnapshotVersion);
        Assert.Single(await Log.ReadAfterAsync(id, 0, 10));
        Assert.Equal(winner, (await Log.ReadCustomerAsync(id, 0)).Snapshot!.Payload);

        // The customer built from the winning snapshot and the log has the logged event.
        Assert.Equal(5m, (await Cluster.Client.GetCustomer(id).GetViewAsync())!.Transactions.PurchaseTotal);
    }

    [Fact]
    public async Task A_customer_is_created_straight_in_the_log_only_while_it_has_no_row_and_is_built_from_it_when_first_used()
    {
        var (id, taken) = (NewId("bulk"), NewId("bulk"));
        var writer = Writer;
        var mail = $"{id}@example.com";
        var profile = new CustomerEvent("p", CustomerEventTypes.ProfileChanged, DateTimeOffset.UtcNow.AddMinutes(-9), "import", null, new EventData(Profile: new CustomerProfile("Kim", "Ode", Email: mail)));
        await Cluster.Client.GetCustomer(taken).UpsertProfileAsync(new CustomerProfile("Already"), "p0", null);

        var created = await Task.WhenAll(
            writer.CreateAsync(new NewCustomer(id, [profile, Purchase("b1", 12m)], [$"email:{mail}", "name:kim ode", "name:ode"])),
            writer.CreateAsync(new NewCustomer(taken, [Purchase("b1", 99m)], [])));

        Assert.Equal(["p", "b1"], created[0]!.Select(a => a.EventId));
        Assert.All(created[0]!, a => Assert.False(a.Existed));
        Assert.Null(created[1]);
        Assert.DoesNotContain(await Log.ReadAfterAsync(taken, 0, 10), r => r.Event.EventId == "b1");

        // A second creation finds the first one's rows: it adds nothing, and the rows go through the grain instead.
        Assert.Null(await writer.CreateAsync(new NewCustomer(id, [Purchase("b2", 1m)], [])));
        Assert.Equal(2, (await Log.ReadAfterAsync(id, 0, 10)).Count);

        // Found by its e-mail before any activation, and built from its log on first use.
        Assert.Equal([id], (await Cluster.Client.GetGrain<ICustomerDirectoryGrain>(0).FindAsync("email", mail.ToUpperInvariant())).CustomerIds);
        var view = await Cluster.Client.GetCustomer(id).GetViewAsync();
        Assert.Equal(("Kim", 12m), (view!.FirstName, view.Transactions.PurchaseTotal));
    }

    [Fact]
    public async Task A_snapshot_whose_state_did_not_fold_a_row_another_writer_logged_is_refused()
    {
        var id = NewId("gap");
        var writer = Writer;
        var serializer = Cluster.GetActiveSilos().OfType<InProcessSiloHandle>().First().SiloHost!.Services.GetRequiredService<Orleans.Serialization.Serializer<CustomerState>>();
        var own = (await writer.CommitAsync(new CustomerCommit(id, [Purchase("own1", 1m)]))).Appends[0].Sequence;
        var foreign = (await writer.CommitAsync(new CustomerCommit(id, [Purchase("foreign", 2m)]))).Appends[0].Sequence;
        var later = (await writer.CommitAsync(new CustomerCommit(id, [Purchase("own2", 3m)]))).Appends[0].Sequence;
        Assert.True(own < foreign && foreign < later);
        var payload = serializer.SerializeToArray(new CustomerState { Exists = true });

        // A state that folded its own two rows but not the foreign one in between may not cover it.
        var refused = await writer.CommitAsync(new CustomerCommit(id, [], Snapshot: new SnapshotWrite(payload, later, ExpectedVersion: 0, AppliedSince: 2)));
        Assert.True(refused.SnapshotConflict);
        Assert.Null((await Log.ReadCustomerAsync(id, 0)).Snapshot);

        var stored = await writer.CommitAsync(new CustomerCommit(id, [], Snapshot: new SnapshotWrite(payload, own, ExpectedVersion: 0, AppliedSince: 1)));
        Assert.Equal(1, stored.SnapshotVersion);
        var next = await writer.CommitAsync(new CustomerCommit(id, [], Snapshot: new SnapshotWrite(payload, later, ExpectedVersion: 1, AppliedSince: 2)));
        Assert.Equal(2, next.SnapshotVersion);
    }

    [Fact]
    public async Task An_active_customer_whose_log_gains_a_row_from_another_writer_shows_it_and_loses_it_to_no_snapshot()
    {
        var id = NewId("foreign");
        var customer = Cluster.Client.GetCustomer(id);
        await customer.UpsertProfileAsync(new CustomerProfile("Ida"), "p", null);
        await customer.RecordEventsAsync([Purchase("e1", 10m)], createIfMissing: false);

        // Another writer logs a row while the customer is active (another activation of it, say); the customer then
        // records its own next event, whose row lies above that one.
        await Writer.CommitAsync(new CustomerCommit(id, [Purchase("foreign", 5m)]));
        await customer.RecordEventsAsync([Purchase("e2", 20m)], createIfMissing: false);

        // Its next snapshot is refused, so it reloads from the log: the row is in the view and in any later activation.
        await Poll.UntilAsync(
            async () => (await customer.GetViewAsync())!.Transactions.PurchaseTotal == 35m ? (object)true : null,
            TimeSpan.FromSeconds(30),
            "the other writer's row in the view");
        await Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.Equal(35m, (await customer.GetViewAsync())!.Transactions.PurchaseTotal);
    }
}

[Collection(SqliteClusterCollection.Name)]
public sealed class SqliteGroupCommitTests(SqliteClusterFixture fixture) : GroupCommitTests(fixture);

[Collection(PostgresClusterCollection.Name)]
public sealed class PostgresGroupCommitTests(PostgresClusterFixture fixture) : GroupCommitTests(fixture)
{
    [Fact]
    public async Task A_row_the_database_refuses_fails_only_the_commit_that_holds_it()
    {
        var run = NewId("bad");
        var writer = Writer;

        // PostgreSQL refuses a NUL character in text: the one bad commit sits in the middle of hundreds of good ones.
        var commits = Enumerable.Range(0, 300)
            .Select(i => new CustomerCommit($"{run}-{i}", [Purchase(i == 150 ? "bad\u0000id" : "ok", 1m)]))
            .ToArray();
        var tasks = commits.Select(c => writer.CommitAsync(c)).ToArray();
        await Task.WhenAll(tasks.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));

        var error = Assert.IsType<CustomerStorageException>(tasks[150].Exception?.InnerException);
        Assert.Contains($"{run}-150", error.Message, StringComparison.Ordinal);
        for (var i = 0; i < commits.Length; i++)
        {
            if (i == 150)
            {
                Assert.Empty(await Log.ReadAfterAsync(commits[i].CustomerId, 0, 10));
                continue;
            }

            Assert.True(tasks[i].IsCompletedSuccessfully, $"commit {i} failed: {tasks[i].Exception?.InnerException?.Message}");
            Assert.Equal("ok", Assert.Single(await Log.ReadAfterAsync(commits[i].CustomerId, 0, 10)).Event.EventId);
        }
    }
}
