using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using OrleansCrm.Customers;
using OrleansCrm.Tests.Customers;

namespace OrleansCrm.Tests.Cluster;

/// <summary>The customer grain on real storage: events, idempotency, order, lookup, merge, replay.</summary>
public abstract class CustomerGrainTests(StorageClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private static CustomerEvent Purchase(string id, decimal amount, int daysAgo) =>
        new(id, CustomerEventTypes.Purchase, DateTimeOffset.UtcNow.AddDays(-daysAgo), "shop", "web", new EventData(Amount: amount));

    [Fact]
    public async Task An_event_is_reflected_in_the_next_view()
    {
        var customer = Cluster.Client.GetCustomer(NewId("ev"));
        await customer.UpsertProfileAsync(new CustomerProfile("Ada"), "p", null);

        await customer.RecordEventsAsync([Purchase("b1", 19.99m, 2)], createIfMissing: false);
        var view = await customer.GetViewAsync();

        Assert.Equal(1, view!.Transactions.PurchaseCount);
        Assert.Equal(19.99m, view.Transactions.PurchaseTotal);
        Assert.Equal(19.99m, view.Transactions.Spend30Days);
    }

    [Fact]
    public async Task A_duplicate_event_id_is_a_no_op_that_returns_the_same_acknowledgement()
    {
        var customer = Cluster.Client.GetCustomer(NewId("dup"));
        var first = await customer.RecordEventsAsync([Purchase("b1", 10m, 1)], createIfMissing: true);

        var again = await customer.RecordEventsAsync([Purchase("b1", 10m, 1), Purchase("b1", 10m, 1)], createIfMissing: false);
        var history = await customer.GetHistoryAsync(null, 100);

        Assert.Equal(first.Acks[0].Sequence, again.Acks[0].Sequence);
        Assert.All(again.Acks, a => Assert.True(a.Duplicate));
        Assert.Equal(10m, again.View.Transactions.PurchaseTotal);
        Assert.Single(history.Items);
    }

    [Fact]
    public async Task Out_of_order_events_give_the_same_aggregates_as_in_order_ones()
    {
        var events = CustomerAggregateTests.SampleEvents().Select(e => e with { OccurredAt = DateTimeOffset.UtcNow - (new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero) - e.OccurredAt) }).ToArray();
        var inOrder = Cluster.Client.GetCustomer(NewId("ord"));
        var outOfOrder = Cluster.Client.GetCustomer(NewId("ooo"));

        foreach (var e in events.OrderBy(e => e.OccurredAt))
        {
            await inOrder.RecordEventsAsync([e], createIfMissing: true);
        }

        foreach (var e in events.OrderByDescending(e => e.OccurredAt))
        {
            await outOfOrder.RecordEventsAsync([e], createIfMissing: true);
        }

        var a = (await inOrder.GetViewAsync())!;
        var b = (await outOfOrder.GetViewAsync())!;
        Assert.Equivalent(a with { CustomerId = "", CreatedAt = default, UpdatedAt = default }, b with { CustomerId = "", CreatedAt = default, UpdatedAt = default }, strict: true);
        Assert.Equal(events.Length, b.EventCount);
    }

    [Fact]
    public async Task Events_for_an_unknown_customer_are_refused_and_leave_no_trace()
    {
        var id = NewId("ghost");

        await Assert.ThrowsAsync<CustomerNotFoundException>(() => Cluster.Client.GetCustomer(id).RecordEventsAsync([Purchase("b1", 1m, 1)], createIfMissing: false));

        Assert.Null(await Cluster.Client.GetCustomer(id).GetViewAsync());
        await Cluster.Client.GetCustomer(id).UpsertProfileAsync(new CustomerProfile("Now"), "p", null);
        Assert.Single((await Cluster.Client.GetCustomer(id).GetHistoryAsync(null, 10)).Items);
    }

    [Fact]
    public async Task An_invalid_event_is_refused_by_the_grain_too()
    {
        var customer = Cluster.Client.GetCustomer(NewId("bad"));
        await customer.UpsertProfileAsync(new CustomerProfile("Ada"), "p", null);

        var error = await Assert.ThrowsAsync<CustomerRuleException>(() => customer.RecordEventsAsync(
            [new CustomerEvent("x", CustomerEventTypes.Purchase, DateTimeOffset.UtcNow, null, null, new EventData(Amount: -5))], createIfMissing: false));

        Assert.Equal("data.amount", error.Field);
        Assert.Single((await customer.GetHistoryAsync(null, 10)).Items);
    }

    [Fact]
    public async Task History_pages_go_back_through_the_whole_log()
    {
        var customer = Cluster.Client.GetCustomer(NewId("hist"));
        var events = Enumerable.Range(0, 25).Select(i => Purchase($"b{i:00}", i, i + 1)).ToArray();
        await customer.RecordEventsAsync(events, createIfMissing: true);

        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var page = await customer.GetHistoryAsync(cursor, 10);
            ids.AddRange(page.Items.Select(i => i.EventId));
            cursor = page.Next;
        }
        while (cursor is not null);

        Assert.Equal(events.Select(e => e.EventId), ids);
    }

    [Fact]
    public async Task Lookup_by_phone_email_or_external_id_finds_the_customer_whatever_the_formatting()
    {
        var id = NewId("look");
        var mail = $"{id}@Example.COM";
        var phone = $"+1 (415) 555-{Random.Shared.Next(1000, 9999)}";
        await Cluster.Client.GetCustomer(id).UpsertProfileAsync(new CustomerProfile("Ada", Email: mail, Phone: phone, ExternalIds: new() { ["billing"] = id }), "p", null);
        var directory = Cluster.Client.GetGrain<ICustomerDirectoryGrain>(0);

        var byMail = await directory.FindAsync("email", "  " + mail.ToUpperInvariant());
        var byPhone = await directory.FindAsync("phone", new string([.. phone.Where(c => char.IsAsciiDigit(c) || c == '+')]));
        var byExternal = await directory.FindAsync("ext", $"Billing:{id}");

        Assert.Equal([id], byMail.CustomerIds);
        Assert.Equal([id], byPhone.CustomerIds);
        Assert.Equal([id], byExternal.CustomerIds);
        Assert.Empty((await directory.FindAsync("email", "nobody-" + mail)).CustomerIds);
    }

    [Fact]
    public async Task A_contact_point_claimed_by_a_second_customer_is_reported_not_taken_over()
    {
        var first = NewId("own");
        var second = NewId("dup");
        var mail = $"{first}@example.com";
        await Cluster.Client.GetCustomer(first).UpsertProfileAsync(new CustomerProfile(Email: mail), "p", null);

        var result = await Cluster.Client.GetCustomer(second).UpsertProfileAsync(new CustomerProfile(Email: mail), "p", null);
        var lookup = await Cluster.Client.GetGrain<ICustomerDirectoryGrain>(0).FindAsync("email", mail);

        Assert.Contains(result.Conflicts, c => c.Contains(first, StringComparison.Ordinal));
        Assert.Equal([first, second], lookup.CustomerIds);
        Assert.True(lookup.Conflict);
    }

    [Fact]
    public async Task Merge_keeps_every_history_item_combines_aggregates_and_forwards_the_old_id()
    {
        var survivor = NewId("surv");
        var merged = NewId("gone");
        var a = Cluster.Client.GetCustomer(survivor);
        var b = Cluster.Client.GetCustomer(merged);
        await a.UpsertProfileAsync(new CustomerProfile("Ada", Email: $"{survivor}@example.com"), "p", null);
        await a.RecordEventsAsync([Purchase("same-id", 10m, 3), Purchase("a2", 5m, 2)], createIfMissing: false);
        await b.UpsertProfileAsync(new CustomerProfile("Augusta", "King", Phone: "+1 415 555 0199"), "p", null);
        await b.RecordEventsAsync(
            [
                Purchase("same-id", 7m, 4),
                new CustomerEvent("k1", CustomerEventTypes.ComplaintOpened, DateTimeOffset.UtcNow.AddDays(-1), "pbx", "phone", new EventData(CaseId: "c-9")),
                new CustomerEvent("m1", CustomerEventTypes.ConsentChanged, DateTimeOffset.UtcNow.AddDays(-1), "web", "email", new EventData(Purpose: "marketing", Granted: true)),
            ],
            createIfMissing: false);

        var result = await a.MergeAsync(merged);
        var again = await a.MergeAsync(merged);

        Assert.Equal(4, result.EventsAbsorbed);
        Assert.Equal(0, again.EventsAbsorbed);
        var view = (await a.GetViewAsync())!;
        Assert.Equal(3, view.Transactions.PurchaseCount);
        Assert.Equal(22m, view.Transactions.PurchaseTotal);
        Assert.Equal(("Ada", "King"), (view.FirstName, view.LastName));
        Assert.Single(view.OpenCases);
        Assert.Single(view.Consents);
        Assert.Equal([merged], view.MergedFrom);
        var history = await a.GetHistoryAsync(null, 100);
        Assert.Equal(3 + 4, history.Items.Length);
        Assert.Equal(survivor, (await b.GetViewAsync())!.CustomerId);
        Assert.Equal([survivor], (await Cluster.Client.GetGrain<ICustomerDirectoryGrain>(0).FindAsync("phone", "+14155550199")).CustomerIds);

        // An event sent to the old id lands on the survivor, and its retry is still a duplicate there.
        var forwarded = await b.RecordEventsAsync([Purchase("late", 1m, 1)], createIfMissing: false);
        var retried = await b.RecordEventsAsync([Purchase("late", 1m, 1)], createIfMissing: false);
        Assert.Equal(survivor, forwarded.CustomerId);
        Assert.True(retried.Acks[0].Duplicate);
        Assert.Equal(23m, retried.View.Transactions.PurchaseTotal);
    }

    /// <summary>The view as the API would encode the object (reflection, the web defaults), keys sorted and numbers
    /// rounded to 4 places (scores move with the clock between two reads).</summary>
    private static string Canonical(System.Text.Json.Nodes.JsonNode? node) => node switch
    {
        System.Text.Json.Nodes.JsonObject o => "{" + string.Join(",", o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"\"{p.Key}\":{Canonical(p.Value)}")) + "}",
        System.Text.Json.Nodes.JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        System.Text.Json.Nodes.JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.Number => Math.Round(v.GetValue<double>(), 4).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        null => "null",
        _ => node.ToJsonString(),
    };

    private static readonly System.Text.Json.JsonSerializerOptions ApiJson = new(System.Text.Json.JsonSerializerDefaults.Web);

    private static async Task AssertEncodedViewIsTheViewAsync(ICustomerGrain customer, string after)
    {
        var encoded = await customer.GetViewJsonAsync(null);
        var view = await customer.GetViewAsync();
        var expected = Canonical(System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(view, ApiJson)));
        var actual = Canonical(System.Text.Json.Nodes.JsonNode.Parse(encoded!.Utf8));
        Assert.True(expected == actual, $"after {after}:\nexpected {expected}\nactual   {actual}");
    }

    [Fact]
    public async Task The_encoded_view_reads_as_the_view_after_every_kind_of_change()
    {
        var id = NewId("enc");
        var other = NewId("enc-gone");
        var customer = Cluster.Client.GetCustomer(id);
        Assert.Null(await customer.GetViewJsonAsync(null));

        // Each step reads the encoded view first (so it is kept), changes the customer, and compares.
        await customer.UpsertProfileAsync(new CustomerProfile("Zoë", "Ångström", Email: $"{id}@example.com"), "p1", null);
        await AssertEncodedViewIsTheViewAsync(customer, "creation");
        await customer.UpsertProfileAsync(new CustomerProfile(Region: "north", Tags: ["vip"]), "p2", null);
        await AssertEncodedViewIsTheViewAsync(customer, "a profile change");
        await customer.RecordEventsAsync([Purchase("b1", 19.99m, 40), Purchase("b2", 5m, 2)], createIfMissing: false);
        await AssertEncodedViewIsTheViewAsync(customer, "purchases");
        await customer.RecordEventsAsync(
            [
                new CustomerEvent("k1", CustomerEventTypes.ComplaintOpened, DateTimeOffset.UtcNow.AddDays(-1), "pbx", "phone", new EventData(CaseId: "c-1")),
                new CustomerEvent("m1", CustomerEventTypes.ConsentChanged, DateTimeOffset.UtcNow.AddDays(-1), "web", "email", new EventData(Purpose: "marketing", Granted: true)),
            ],
            createIfMissing: false);
        await AssertEncodedViewIsTheViewAsync(customer, "a case and a consent");

        var gone = Cluster.Client.GetCustomer(other);
        await gone.UpsertProfileAsync(new CustomerProfile("Augusta", Phone: "+1 415 555 0123"), "p", null);
        await customer.MergeAsync(other);
        await AssertEncodedViewIsTheViewAsync(customer, "a merge");
        Assert.Equal(Canonical(System.Text.Json.Nodes.JsonNode.Parse((await customer.GetViewJsonAsync(null))!.Utf8)),
            Canonical(System.Text.Json.Nodes.JsonNode.Parse((await gone.GetViewJsonAsync(null))!.Utf8)));

        await customer.EraseAsync("test");
        await AssertEncodedViewIsTheViewAsync(customer, "erasure");
    }

    [Fact]
    public async Task A_log_entry_the_stored_state_missed_is_replayed_at_activation()
    {
        var id = NewId("replay");
        var silo = Cluster.GetActiveSilos().OfType<InProcessSiloHandle>().First();
        var log = silo.SiloHost!.Services.GetRequiredService<ICustomerLog>();

        // As if a silo died between appending to the log and writing the grain's state.
        await log.AppendAsync(id, [Purchase("orphan", 42m, 1)]);
        var view = await Cluster.Client.GetCustomer(id).GetViewAsync();

        Assert.NotNull(view);
        Assert.Equal(42m, view.Transactions.PurchaseTotal);
    }
}

[Collection(SqliteClusterCollection.Name)]
public sealed class SqliteCustomerGrainTests(SqliteClusterFixture fixture) : CustomerGrainTests(fixture);

[Collection(PostgresClusterCollection.Name)]
public sealed class PostgresCustomerGrainTests(PostgresClusterFixture fixture) : CustomerGrainTests(fixture);
