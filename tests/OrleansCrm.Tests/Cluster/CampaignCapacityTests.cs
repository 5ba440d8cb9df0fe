using System.Globalization;
using System.Text.Json;
using Orleans.TestingHost;
using OrleansCrm.Campaigns;
using OrleansCrm.Catalog;
using OrleansCrm.Customers;
using OrleansCrm.Decisions;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>Daily capacity on the phone channel, worked by agents: what fits today goes to the agents' call lists
/// by their quotas in priority order, the rest waits for the next day.</summary>
public abstract class CampaignCapacityTests(StorageClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private async Task SetCapacityAsync(CapacitySettings settings)
    {
        var catalog = Cluster.Client.GetGrain<ICatalogGrain>(CatalogKinds.Capacity);
        var current = await catalog.GetAsync();
        await catalog.PutAsync(JsonSerializer.Serialize(settings, DecisionJson.Options), current.Version);
        await Cluster.Client.GetGrain<ICapacityPlannerGrain>(0).PlanAsync(null);
    }

    private async Task<string[]> CustomersAsync(string tag, int count)
    {
        var ids = Enumerable.Range(0, count).Select(i => $"{tag}-{i}").ToArray();
        foreach (var id in ids)
        {
            await Cluster.Client.GetCustomer(id).RecordEventsAsync(
                [
                    new CustomerEvent("p", CustomerEventTypes.ProfileChanged, DateTimeOffset.UtcNow.AddDays(-3), "t", null, new EventData(Profile: new CustomerProfile("F", Tags: [tag]))),
                    new CustomerEvent("c", CustomerEventTypes.ConsentChanged, DateTimeOffset.UtcNow.AddDays(-2), "t", "phone", new EventData(Purpose: "marketing", Granted: true)),
                ],
                createIfMissing: true);
        }

        await TestSegments.DefineBackfilledAsync(Cluster.Client, (tag, $"""tags contains "{tag}" """));
        return ids;
    }

    private async Task<CampaignStatus> LaunchAsync(string id, string segment, int priority)
    {
        var campaign = Cluster.Client.GetGrain<ICampaignGrain>(id);
        await campaign.DefineAsync(new CampaignDefinition(
            "Call about savings",
            CampaignTypes.SingleStep,
            [segment],
            Channels: ["phone"],
            Templates: new() { ["phone"] = new MessageTemplate(null, "Call {{ customer.firstName }} about savings") },
            Priority: priority,
            Policy: new ContactPolicySettings(QuietFromHour: 0, QuietToHour: 0)));
        await campaign.LaunchAsync();
        return await Poll.UntilAsync(async () => await campaign.GetProgressAsync() is { State: CampaignStates.Completed } s ? s : null, TimeSpan.FromSeconds(60), $"campaign {id}");
    }

    /// <summary>The feed once it shows <paramref name="count"/> actions of the campaigns: on PostgreSQL a release
    /// joins the feed when every older transaction on the server has finished.</summary>
    private Task<List<CampaignAction>> FeedAsync(int count, params string[] campaigns) =>
        Poll.UntilAsync(async () => await FeedAsync(campaigns) is { } all && all.Count >= count ? all : null, TimeSpan.FromSeconds(30), $"{count} actions in the feed");

    private async Task<List<CampaignAction>> FeedAsync(params string[] campaigns)
    {
        var feed = Cluster.Client.GetGrain<ICampaignFeedGrain>(0);
        var all = new List<CampaignAction>();
        foreach (var campaign in campaigns)
        {
            all.AddRange((await feed.ReadAsync(FeedCursor.Start, 1000, campaign)).Actions);
        }

        return all;
    }

    [Fact]
    public async Task What_fits_today_goes_to_the_agents_by_quota_in_priority_order_and_the_rest_waits_for_the_next_day()
    {
        var run = "cap" + Guid.NewGuid().ToString("N")[..6];
        var (first, second) = ($"{run}-a1", $"{run}-a2");
        await SetCapacityAsync(new CapacitySettings(Agents: [new CapacityAgent(first, 0), new CapacityAgent(second, 0)]));
        var (low, high) = ($"{run}-low", $"{run}-high");
        await CustomersAsync(low, 3);
        await CustomersAsync(high, 2);

        // No capacity yet: both campaigns decide, and every call waits.
        var lowStatus = await LaunchAsync(low, low, priority: 1);
        var highStatus = await LaunchAsync(high, high, priority: 5);
        Assert.Equal((3L, 3L, 0L), (lowStatus.Sent, lowStatus.Delivery!.WaitingForCapacity, lowStatus.Delivery.Queued));
        Assert.Equal((2L, 2L), (highStatus.Sent, highStatus.Delivery!.WaitingForCapacity));
        Assert.Empty(await FeedAsync(low, high));

        // Three calls a day (2 + 1): both high-priority calls and one of the low ones go today.
        await SetCapacityAsync(new CapacitySettings(Agents: [new CapacityAgent(first, 2, "Anna"), new CapacityAgent(second, 1, "Bo")]));
        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var lists = Cluster.Client.GetGrain<ICallListGrain>(0);
        var (firstToday, secondToday) = (await lists.ReadAsync(first, today), await lists.ReadAsync(second, today));
        var released = await FeedAsync(3, low, high);

        Assert.Equal((2, 1), (firstToday.Length, secondToday.Length));
        Assert.Equal([5, 5, 1], firstToday.Concat(secondToday).Select(c => c.Priority).ToArray());
        Assert.Equal(2, firstToday.Count(c => c.CampaignId == high));
        Assert.Equal(3, released.Count);
        Assert.All(released, a => Assert.Equal(today, a.PlannedDay));
        Assert.Equal(2L, (await Cluster.Client.GetGrain<ICampaignGrain>(low).GetProgressAsync())!.Delivery!.WaitingForCapacity);
        Assert.Empty(await Cluster.Client.GetGrain<ICapacityPlannerGrain>(0).PlanAsync(null));

        // The next day takes the two that waited, the first agent's quota first.
        var tomorrow = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(1);
        var planned = await Cluster.Client.GetGrain<ICapacityPlannerGrain>(0).PlanAsync(tomorrow);
        var firstTomorrow = await lists.ReadAsync(first, tomorrow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        var all = await FeedAsync(5, low, high);

        Assert.Equal(2, planned["phone"]);
        Assert.Equal(2, firstTomorrow.Length);
        Assert.All(firstTomorrow, c => Assert.Equal(low, c.CampaignId));
        Assert.Equal(5, all.Count);
        Assert.Equal(5, all.Select(a => a.IdempotencyKey).Distinct().Count());

        // An agent marks a call made; another agent cannot.
        var call = firstToday[0];
        Assert.False(await lists.CompleteAsync(second, call.Sequence));
        Assert.True(await lists.CompleteAsync(first, call.Sequence));
        Assert.True(await lists.CompleteAsync(first, call.Sequence));
        var progress = (await Cluster.Client.GetGrain<ICampaignGrain>(high).GetProgressAsync())!.Delivery!;
        Assert.Equal((0L, 1L, 1L), (progress.WaitingForCapacity, progress.Queued, progress.Delivered));
        await SetCapacityAsync(new CapacitySettings());
    }
}

[Collection(SqliteClusterCollection.Name)]
public sealed class SqliteCampaignCapacityTests(SqliteClusterFixture fixture) : CampaignCapacityTests(fixture);

[Collection(PostgresClusterCollection.Name)]
public sealed class PostgresCampaignCapacityTests(PostgresClusterFixture fixture) : CampaignCapacityTests(fixture);
