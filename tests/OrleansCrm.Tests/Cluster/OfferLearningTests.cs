using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Storage;
using Orleans.TestingHost;
using OrleansCrm.Decisions;

namespace OrleansCrm.Tests.Cluster;

/// <summary>
/// Offer learning's counts on real storage: every outcome a row keyed by its id, so a repeat is never counted twice,
/// however late it comes; concurrent reports are each counted once; the counts survive the grain going away, and an
/// offer learned by an earlier version keeps what it had learned.
/// </summary>
public abstract class OfferLearningTests(StorageClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private static string NewOffer() => "ol-" + Guid.NewGuid().ToString("N")[..8];

    private IOfferLearningGrain Learning(string offerId) => Cluster.Client.GetGrain<IOfferLearningGrain>(offerId);

    private static string Outcome(int i) => (i % 3) switch { 0 => "accepted", 1 => "declined", _ => "notnow" };

    private static string Group(int i) => i % 2 == 0 ? "m1|email" : "m2|phone";

    /// <summary>Every idle activation goes away, so the next call activates the grain afresh from the database.</summary>
    private Task DeactivateAllAsync() => Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

    [Fact]
    public async Task Concurrent_reports_are_each_counted_exactly_once_and_a_repeat_after_thousands_of_others_is_ignored()
    {
        var offer = NewOffer();
        const int Distinct = 5_100;

        // Every outcome is reported at once, a fifth of them twice (as a customer's retried report would be).
        await Parallel.ForAsync(0, Distinct + (Distinct / 5), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (n, _) =>
        {
            var i = n < Distinct ? n : (n - Distinct) * 5;
            await Learning(offer).RecordAsync(Group(i), Outcome(i), $"cust-{i}/evt-{i}");
        });
        var first = await Learning(offer).GetAsync();

        // The very first outcome, repeated after more than 5,000 others.
        await Learning(offer).RecordAsync(Group(0), Outcome(0), "cust-0/evt-0");
        var repeated = await Learning(offer).GetAsync();

        var expected = Enumerable.Range(0, Distinct).GroupBy(Group).ToDictionary(
            g => g.Key,
            g => new OutcomeCounts(g.LongCount(i => Outcome(i) == "accepted"), g.LongCount(i => Outcome(i) == "declined"), g.LongCount(i => Outcome(i) == "notnow")));
        Assert.Equal(expected.OrderBy(kv => kv.Key, StringComparer.Ordinal), first.Groups.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.Equal(Distinct, first.Version);
        Assert.Equal(first.Groups.OrderBy(kv => kv.Key, StringComparer.Ordinal), repeated.Groups.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.Equal(Distinct, repeated.Version);
    }

    [Fact]
    public async Task Counts_survive_reactivation_and_a_repeat_after_it_is_not_counted_twice()
    {
        var offer = NewOffer();
        await Learning(offer).RecordAsync("m3|email", "accepted", "c1/e1");
        await Learning(offer).RecordAsync("m3|email", "declined", "c2/e1");
        await Learning(offer).RecordAsync("m0|any", "notnow", "c3/e1");
        var before = await Learning(offer).GetAsync();

        await DeactivateAllAsync();
        var after = await Learning(offer).GetAsync();
        await Learning(offer).RecordAsync("m3|email", "accepted", "c1/e1");
        await Learning(offer).RecordAsync("m3|email", "accepted", "c4/e1");
        var later = await Learning(offer).GetAsync();

        Assert.Equal(new OutcomeCounts(1, 1, 0), before.Groups["m3|email"]);
        Assert.Equal(before.Groups.OrderBy(kv => kv.Key, StringComparer.Ordinal), after.Groups.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.Equal(3, after.Version);
        Assert.Equal(new OutcomeCounts(2, 1, 0), later.Groups["m3|email"]);
        Assert.Equal(new OutcomeCounts(0, 0, 1), later.Groups["m0|any"]);
        Assert.Equal(4, later.Version);
    }

    [Fact]
    public async Task An_offer_learned_by_an_earlier_version_keeps_its_counts_and_its_remembered_ids()
    {
        var offer = NewOffer();

        // What the earlier version wrote: the counts and its window of recent ids, in the offer's grain state.
        var storage = Cluster.GetActiveSilos().OfType<InProcessSiloHandle>().First().SiloHost!.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Crm);
        var old = new OfferLearningState
        {
            Groups = new() { ["m1|email"] = new OutcomeCounts(5, 2, 1) },
            Version = 8,
            RecentIds = ["old-1/e", "old-2/e"],
        };
        await storage.WriteStateAsync("offerlearning", GrainId.Create("offer-learning", offer), new GrainState<OfferLearningState>(old));

        var upgraded = await Learning(offer).GetAsync();
        await Learning(offer).RecordAsync("m1|email", "accepted", "old-2/e");
        await Learning(offer).RecordAsync("m1|email", "accepted", "new-1/e");
        await DeactivateAllAsync();
        var after = await Learning(offer).GetAsync();

        Assert.Equal(new OutcomeCounts(5, 2, 1), upgraded.Groups["m1|email"]);
        Assert.Equal(8, upgraded.Version);
        Assert.Equal(new OutcomeCounts(6, 2, 1), after.Groups["m1|email"]);
        Assert.Equal(9, after.Version);
    }
}

[Collection(SqliteClusterCollection.Name)]
public sealed class SqliteOfferLearningTests(SqliteClusterFixture fixture) : OfferLearningTests(fixture);

[Collection(PostgresClusterCollection.Name)]
public sealed class PostgresOfferLearningTests(PostgresClusterFixture fixture) : OfferLearningTests(fixture);
