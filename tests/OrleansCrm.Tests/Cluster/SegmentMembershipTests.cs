using System.Text.Json;
using Orleans.TestingHost;
using OrleansCrm.Catalog;
using OrleansCrm.Customers;
using OrleansCrm.Decisions;
using OrleansCrm.Segments;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>Segment membership kept by the customers themselves equals a brute-force evaluation, exactly.</summary>
[Collection(SqliteClusterCollection.Name)]
public sealed class SegmentMembershipTests(SqliteClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private Task DefineAsync(params (string Id, string Expression)[] definitions) => TestSegments.DefineAsync(Cluster.Client, definitions);

    private async Task<HashSet<string>> MembersAsync(string segmentId)
    {
        var members = new HashSet<string>(StringComparer.Ordinal);
        for (var shard = 0; shard < SegmentShards.Count; shard++)
        {
            string? after = null;
            while (true)
            {
                var page = await Cluster.Client.GetGrain<ISegmentShardGrain>(SegmentShards.Key(segmentId, shard)).MembersAsync(after, 1000);
                members.UnionWith(page);
                if (page.Length < 1000)
                {
                    break;
                }

                after = page[^1];
            }
        }

        return members;
    }

    private async Task<long> CountAsync(string segmentId)
    {
        var counts = await Task.WhenAll(Enumerable.Range(0, SegmentShards.Count).Select(s => Cluster.Client.GetGrain<ISegmentShardGrain>(SegmentShards.Key(segmentId, s)).CountAsync()));
        return counts.Sum();
    }

    [Fact]
    public async Task Membership_after_twenty_thousand_random_events_equals_a_brute_force_evaluation()
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        var customers = Enumerable.Range(0, 400).Select(i => $"seg-{run}-{i:000}").ToArray();
        var regions = new[] { "north", "south", "east", "west" };
        var random = new Random(20261123);
        var north = $"north-{run}";
        var vip = $"vip-{run}";
        var saver = $"saver-{run}";

        // Half the customers exist before the segments do (the backfill must find them), half after.
        async Task CreateAsync(IEnumerable<string> ids) => await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, _) =>
            await Cluster.Client.GetCustomer(id).UpsertProfileAsync(new CustomerProfile(Region: regions[Math.Abs(id.GetHashCode(StringComparison.Ordinal)) % 4], Tags: [run]), "p0", null));
        await CreateAsync(customers.Take(200));
        await DefineAsync(
            (north, $"""region = "north" and purchaseCount >= 3 and tags contains "{run}" """),
            (vip, $"""(tags contains "vip" or purchaseTotal > 750) and tags contains "{run}" """),
            (saver, $"""not (region in ("south", "east")) and depositTotal > 250 and tags contains "{run}" """));
        await CreateAsync(customers.Skip(200));

        var events = Enumerable.Range(0, 20_000).Select(n =>
        {
            var id = customers[random.Next(customers.Length)];
            var kind = random.Next(10);
            var when = DateTimeOffset.UtcNow.AddDays(-random.Next(1, 300));
            return (id, kind switch
            {
                < 5 => new CustomerEvent($"e{n}", CustomerEventTypes.Purchase, when, "t", "web", new EventData(Amount: random.Next(1, 120))),
                < 7 => new CustomerEvent($"e{n}", CustomerEventTypes.Deposit, when, "t", null, new EventData(Amount: random.Next(1, 80))),
                < 9 => new CustomerEvent($"e{n}", CustomerEventTypes.ProfileChanged, when, "t", null, new EventData(Profile: new CustomerProfile(Region: regions[random.Next(4)]))),
                _ when random.Next(25) == 0 => new CustomerEvent($"e{n}", CustomerEventTypes.ProfileChanged, when, "t", null, new EventData(Profile: new CustomerProfile(Tags: ["vip"]))),
                _ => new CustomerEvent($"e{n}", CustomerEventTypes.WebVisit, when, "t", "web", EventData.Empty),
            });
        }).ToList();
        await Parallel.ForEachAsync(events.GroupBy(e => e.id), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (group, _) =>
        {
            foreach (var (id, e) in group)
            {
                await Cluster.Client.GetCustomer(id).RecordEventsAsync([e], createIfMissing: false);
            }
        });

        foreach (var segment in new[] { north, vip, saver })
        {
            await Poll.UntilAsync(async () => (await Cluster.Client.GetGrain<ISegmentBackfillGrain>(segment).GetProgressAsync()).Finished, TimeSpan.FromSeconds(120), $"backfill of {segment}");
        }

        var views = new Dictionary<string, CustomerView>(StringComparer.Ordinal);
        foreach (var id in customers)
        {
            views[id] = (await Cluster.Client.GetCustomer(id).GetViewAsync())!;
        }

        var expected = new Dictionary<string, HashSet<string>>
        {
            [north] = [.. customers.Where(c => views[c].Region == "north" && views[c].Transactions.PurchaseCount >= 3)],
            [vip] = [.. customers.Where(c => views[c].Tags.Contains("vip") || views[c].Transactions.PurchaseTotal > 750)],
            [saver] = [.. customers.Where(c => views[c].Region is not ("south" or "east") && views[c].Transactions.DepositTotal > 250)],
        };
        foreach (var (segment, want) in expected)
        {
            var actual = await MembersAsync(segment);
            Assert.True(want.SetEquals(actual), $"{segment}: {want.Except(actual).Count()} missing, {actual.Except(want).Count()} extra");
            Assert.Equal(want.Count, await CountAsync(segment));
            Assert.All(want, c => Assert.Contains(segment, views[c].Segments));
            Assert.InRange(want.Count, 1, customers.Length - 1);
        }
    }

    [Fact]
    public async Task A_time_based_condition_flips_without_an_event()
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        var lapsed = $"lapsed-{run}";
        var id = $"clock-{run}";
        await DefineAsync((lapsed, $"""daysSinceLastPurchase > 0.0004 and tags contains "{run}" """)); // about 35 s
        await Poll.UntilAsync(async () => (await Cluster.Client.GetGrain<ISegmentBackfillGrain>(lapsed).GetProgressAsync()).Finished, TimeSpan.FromSeconds(60), "backfill");
        await Cluster.Client.GetCustomer(id).UpsertProfileAsync(new CustomerProfile(Tags: [run]), "p", null);

        var bought = await Cluster.Client.GetCustomer(id).RecordEventsAsync(
            [new CustomerEvent("b", CustomerEventTypes.Purchase, DateTimeOffset.UtcNow, "t", "web", new EventData(Amount: 5))], createIfMissing: false);

        Assert.DoesNotContain(lapsed, bought.View.Segments);
        Assert.DoesNotContain(id, await MembersAsync(lapsed));
        await Poll.UntilAsync(async () => (await MembersAsync(lapsed)).Contains(id), TimeSpan.FromSeconds(120), "the customer to join once 35 s passed with no event");
        Assert.Contains(lapsed, (await Cluster.Client.GetCustomer(id).GetViewAsync())!.Segments);
        Assert.Equal(1, await CountAsync(lapsed));
    }

    [Fact]
    public async Task A_malformed_definition_is_refused_with_the_position_of_the_error()
    {
        var error = Assert.Throws<SegmentSyntaxException>(() => SegmentExpression.Parse("""churnRisk >= 0.7 and region in ("north", )"""));

        Assert.Equal(41, error.Position);
        Assert.Contains("expected", error.Message, StringComparison.Ordinal);
        await Task.CompletedTask;
    }
}
