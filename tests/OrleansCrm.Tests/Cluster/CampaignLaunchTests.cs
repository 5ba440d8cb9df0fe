using Orleans.TestingHost;
using OrleansCrm.Campaigns;
using OrleansCrm.Customers;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>A campaign launched across a segment's shards: each customer decides for itself, and each action is
/// stored once.</summary>
[Collection(SqliteClusterCollection.Name)]
public sealed class CampaignLaunchTests(SqliteClusterFixture fixture)
{
    private TestCluster Cluster => fixture.Cluster;

    private static CampaignDefinition Campaign(string segment, double controlShare = 0) => new(
        "Winter offer",
        CampaignTypes.SingleStep,
        [segment],
        Channels: ["email"],
        Templates: new() { ["email"] = new MessageTemplate("{{ customer.firstName }}, for you", "<p>Dear {{ customer.firstName }}</p>", Html: true) },
        ControlShare: controlShare,
        Policy: new ContactPolicySettings(QuietFromHour: 0, QuietToHour: 0));

    private async Task<string[]> CustomersAsync(string run, int count, Func<int, CustomerEvent[]> extra)
    {
        var ids = Enumerable.Range(0, count).Select(i => $"{run}-{i:000}").ToArray();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            await Cluster.Client.GetCustomer(ids[i]).RecordEventsAsync(
                [new CustomerEvent("p", CustomerEventTypes.ProfileChanged, DateTimeOffset.UtcNow.AddDays(-3), "t", null, new EventData(Profile: new CustomerProfile("F" + i, Tags: [run]))), .. extra(i)],
                createIfMissing: true));
        return ids;
    }

    private static CustomerEvent Consent(bool granted) =>
        new("consent", CustomerEventTypes.ConsentChanged, DateTimeOffset.UtcNow.AddDays(-2), "t", "email", new EventData(Purpose: "marketing", Granted: granted));

    private async Task<CampaignStatus> LaunchAndWaitAsync(string campaignId, CampaignDefinition definition)
    {
        var campaign = Cluster.Client.GetGrain<ICampaignGrain>(campaignId);
        await campaign.DefineAsync(definition);
        await campaign.LaunchAsync();
        return await Poll.UntilAsync(
            async () => await campaign.GetStatusAsync() is { State: CampaignStates.Completed } done ? done : null,
            TimeSpan.FromSeconds(60),
            $"campaign {campaignId} to complete");
    }

    private async Task<List<CampaignAction>> ActionsAsync(string campaignId)
    {
        var all = new List<CampaignAction>();
        var after = FeedCursor.Start;
        while (true)
        {
            var page = await Cluster.Client.GetGrain<ICampaignFeedGrain>(0).ReadAsync(after, 100, campaignId);
            all.AddRange(page.Actions);
            if (page.Actions.Length < 100)
            {
                return all;
            }

            after = page.Next;
        }
    }

    [Fact]
    public async Task Launch_contacts_each_consenting_member_once_and_suppresses_the_rest_with_the_reason()
    {
        // Quiet hours are 21:00-08:00: the campaign's zone is one where it is day now, and one customer lives where it is night.
        string[] zones = ["Pacific/Kiritimati", "Asia/Tokyo", "Asia/Kolkata", "Europe/London", "America/New_York", "America/Los_Angeles", "Pacific/Honolulu", "Australia/Sydney"];
        int LocalHour(string zone) => TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById(zone)).Hour;
        var day = zones.First(z => LocalHour(z) is >= 9 and <= 19);
        var night = zones.First(z => LocalHour(z) is >= 22 or <= 6);
        CustomerEvent Profile(string id, CustomerProfile profile) => new(id, CustomerEventTypes.ProfileChanged, DateTimeOffset.UtcNow.AddDays(-1), "t", null, new EventData(Profile: profile));
        CustomerEvent Sent(int daysAgo) => new($"sent-{daysAgo}", CustomerEventTypes.CampaignContact, DateTimeOffset.UtcNow.AddDays(-daysAgo), "t", "email", new EventData(Campaign: "earlier"));

        var run = "cl" + Guid.NewGuid().ToString("N")[..6];
        var ids = await CustomersAsync(run, 60, i => i switch
        {
            _ when i % 5 == 0 => [Consent(false)],
            7 => [Consent(true), Profile("dnc", new CustomerProfile(Tags: [ContactPolicy.DoNotContactTag]))],
            11 => [Consent(true), Sent(2), Sent(3), Sent(4)],
            13 => [Consent(true), Profile("tz", new CustomerProfile(Attributes: new() { ["timeZone"] = night }))],
            _ => [Consent(true)],
        });
        await TestSegments.DefineBackfilledAsync(Cluster.Client, (run, $"""tags contains "{run}" """));

        var status = await LaunchAndWaitAsync(run, Campaign(run) with { TimeZone = day, Policy = new ContactPolicySettings(QuietFromHour: 21, QuietToHour: 8) });
        await Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var stored = await Cluster.Client.GetGrain<ICampaignGrain>(run).GetStatusAsync();
        var actions = await ActionsAsync(run);
        var repeat = await Cluster.Client.GetCustomer(ids[1]).DecideCampaignAsync(new CampaignStep(run, status.StepId!, status.Definition, null));
        var view = await Cluster.Client.GetCustomer(ids[1]).GetViewAsync();

        var optedOut = ids.Where((_, i) => i % 5 == 0).ToHashSet();
        var expected = ids.Where((id, i) => !optedOut.Contains(id) && i is not (7 or 11)).ToHashSet();
        Assert.Equal(60, status.Targeted);
        Assert.Equal((CampaignStates.Completed, status.Sent, status.Targeted), (stored!.State, stored.Sent, stored.Targeted));
        Assert.Equal(optedOut.Count, status.Suppressed["no-consent"]);
        Assert.Equal(1, status.Suppressed["do-not-contact"]);
        Assert.Equal(1, status.Suppressed["frequency-cap"]);
        Assert.Equal(1, status.Deferred);
        Assert.Equal(expected.Count - 1, status.Sent);
        Assert.True(expected.SetEquals(actions.Select(a => a.CustomerId)));
        var deferred = actions.Single(a => a.CustomerId == ids[13]);
        Assert.Equal(8, TimeZoneInfo.ConvertTime(deferred.NotBefore!.Value, TimeZoneInfo.FindSystemTimeZoneById(night)).Hour);
        Assert.All(actions.Where(a => a.CustomerId != ids[13]), a => Assert.Null(a.NotBefore));
        Assert.Equal(actions.Count, actions.Select(a => a.IdempotencyKey).Distinct().Count());
        Assert.Equal((ContactOutcomes.Send, true), (repeat.Outcome, repeat.Repeat));
        Assert.Equal(expected.Count, (await ActionsAsync(run)).Count);
        Assert.Equal("<p>Dear F1</p>", actions.Single(a => a.CustomerId == ids[1]).Body);
        Assert.Contains(view!.RecentContacts, c => c.Type == CustomerEventTypes.CampaignContact && c.Campaign == run && c.Direction == "outbound");
    }

    [Fact]
    public async Task The_control_group_gets_nothing_and_is_counted()
    {
        var run = "cg" + Guid.NewGuid().ToString("N")[..6];
        var ids = await CustomersAsync(run, 200, _ => [Consent(true)]);
        await TestSegments.DefineBackfilledAsync(Cluster.Client, (run, $"""tags contains "{run}" """));

        var status = await LaunchAndWaitAsync(run, Campaign(run, controlShare: 0.25));
        var actions = (await ActionsAsync(run)).Select(a => a.CustomerId).ToHashSet();

        var control = ids.Where(id => ContactPolicy.InControlGroup(run, id, 0.25)).ToHashSet();
        Assert.Equal(control.Count, status.HeldOut);
        // Some are held out and some are not. How close the group comes to its share is ContactPolicyTests' check, over
        // fixed ids: this run's id is random, and about one id in 28,000 puts 76 or more of 200 customers in a 25 %
        // group (counted over every six-hex-digit id), which made a bound of 25–75 here fail now and then.
        Assert.InRange(control.Count, 1, ids.Length - 1);
        Assert.Empty(actions.Intersect(control));
        Assert.Equal(ids.Length - control.Count, actions.Count);
    }

    [Fact]
    public async Task A_periodic_campaign_runs_again_on_its_schedule_over_the_segment_as_it_is_then()
    {
        var run = "pc" + Guid.NewGuid().ToString("N")[..6];
        var first = await CustomersAsync(run, 10, _ => [Consent(true)]);
        await TestSegments.DefineBackfilledAsync(Cluster.Client, (run, $"""tags contains "{run}" """));
        var campaign = Cluster.Client.GetGrain<ICampaignGrain>(run);
        await campaign.DefineAsync(Campaign(run) with { Type = CampaignTypes.Periodic, Schedule = "*/10 * * * * *" });

        // The first run starts at once, the next at the schedule's next 10 s mark: launch just after a mark, so the five
        // customers below join well before the second run rather than while it is already walking the segment.
        await Poll.UntilAsync(() => Task.FromResult(DateTimeOffset.UtcNow.Second % 10 < 2), TimeSpan.FromSeconds(15), "a moment just after a 10 s mark");
        await campaign.LaunchAsync();
        var afterFirst = await Poll.UntilAsync(async () => await campaign.GetStatusAsync() is { State: CampaignStates.Scheduled } s ? s : null, TimeSpan.FromSeconds(60), "the first run");
        var joined = await CustomersAsync(run + "-new", 5, _ => [Consent(true), new CustomerEvent("tag", CustomerEventTypes.ProfileChanged, DateTimeOffset.UtcNow.AddDays(-1), "t", null, new EventData(Profile: new CustomerProfile(Tags: [run])))]);
        var afterSecond = await Poll.UntilAsync(async () => await campaign.GetStatusAsync() is { Runs.Length: >= 2 } s ? s : null, TimeSpan.FromSeconds(60), "the second run");
        await campaign.CancelAsync();
        var actions = await ActionsAsync(run);

        var (second, firstRun) = (afterSecond.Runs![0], afterSecond.Runs[1]);
        Assert.Equal((10L, 10L), (firstRun.Targeted, firstRun.Sent));
        Assert.NotNull(afterFirst.NextRunAt);

        // The second run sees the five who joined since; the first ten were contacted today (one campaign contact a day).
        Assert.Equal((15L, 5L, 10L), (second.Targeted, second.Sent, second.Suppressed));
        Assert.Equal(15, actions.Count);
        Assert.True(first.Concat(joined).ToHashSet().SetEquals(actions.Select(a => a.CustomerId)));
        Assert.Equal(2, actions.Select(a => a.StepId).Distinct().Count());
    }

    [Fact]
    public async Task Results_are_broken_down_by_the_target_segment_each_customer_was_found_in()
    {
        var run = "sg" + Guid.NewGuid().ToString("N")[..6];
        var (first, second) = ($"{run}-a", $"{run}-b");
        var ids = await CustomersAsync(run, 9, i => [Consent(true), new CustomerEvent("seg", CustomerEventTypes.ProfileChanged, DateTimeOffset.UtcNow.AddDays(-2), "t", null,
            new EventData(Profile: new CustomerProfile(Tags: i < 3 ? [run, first] : i < 5 ? [run, first, second] : [run, second])))]);
        await TestSegments.DefineBackfilledAsync(Cluster.Client, (first, $"""tags contains "{first}" """), (second, $"""tags contains "{second}" """));

        var status = await LaunchAndWaitAsync(run, Campaign(first) with { Segments = [first, second] });
        var results = (await Cluster.Client.GetGrain<ICampaignGrain>(run).GetResultsAsync())!;

        // Customers in both segments count once, in the first segment the campaign names.
        Assert.Equal((9L, 9L), (status.Targeted, status.Sent));
        Assert.Equal(9, ids.Length);
        Assert.Equal(
            new[] { (first, 5L), (second, 4L) },
            results.BySegment!.OrderBy(g => g.Segment, StringComparer.Ordinal).Select(g => (g.Segment, g.Contacted.Customers)).ToArray());
    }

    [Fact]
    public async Task A_response_to_a_campaign_offer_teaches_next_best_action_once_per_contact()
    {
        var run = "lo" + Guid.NewGuid().ToString("N")[..6];
        var offer = "offer-" + run;
        var ids = await CustomersAsync(run, 3, _ => [Consent(true)]);
        await TestSegments.DefineBackfilledAsync(Cluster.Client, (run, $"""tags contains "{run}" """));
        await LaunchAndWaitAsync(run, Campaign(run) with { OfferId = offer });

        async Task RespondAsync(string id, string eventId) => await Cluster.Client.GetCustomer(id).RecordEventsAsync(
            [new CustomerEvent(eventId, CustomerEventTypes.Purchase, DateTimeOffset.UtcNow.AddSeconds(1), "t", "web", new EventData(Amount: 20))], createIfMissing: false);
        await RespondAsync(ids[0], "buy-1");
        await RespondAsync(ids[0], "buy-2");
        await RespondAsync(ids[1], "buy-1");
        var learning = await Cluster.Client.GetGrain<OrleansCrm.Decisions.IOfferLearningGrain>(offer).GetAsync();

        // Two contacted customers responded (the second purchase of the first is the same contact's answer); the
        // third's window is still open, so nothing is known about it yet.
        var email = learning.Groups.Where(g => g.Key.EndsWith("|email", StringComparison.Ordinal)).Select(g => g.Value).ToList();
        Assert.Equal((2L, 0L), (email.Sum(c => c.Accepted), email.Sum(c => c.Declined)));
    }

    [Fact]
    public async Task Results_compare_the_contacted_with_the_control_group_within_the_attribution_window()
    {
        var run = "rs" + Guid.NewGuid().ToString("N")[..6];
        var ids = await CustomersAsync(run, 40, _ => [Consent(true)]);
        await TestSegments.DefineBackfilledAsync(Cluster.Client, (run, $"""tags contains "{run}" """));
        await LaunchAndWaitAsync(run, Campaign(run, controlShare: 0.5) with { CostPerContact = 2m });
        var control = ids.Where(id => ContactPolicy.InControlGroup(run, id, 0.5)).ToList();
        var contacted = ids.Except(control).ToList();

        async Task RespondAsync(string id, string type, decimal? amount, DateTimeOffset at) =>
            await Cluster.Client.GetCustomer(id).RecordEventsAsync(
                [new CustomerEvent($"r-{type}-{at.Ticks}", type, at, "t", "web", amount is null ? EventData.Empty : new EventData(Amount: amount))], createIfMissing: false);
        var later = DateTimeOffset.UtcNow.AddSeconds(1);
        foreach (var id in contacted.Take(6))
        {
            await RespondAsync(id, CustomerEventTypes.Purchase, 100, later);
        }

        await RespondAsync(contacted[6], CustomerEventTypes.EmailClicked, null, later);
        await RespondAsync(contacted[7], CustomerEventTypes.Purchase, 999, DateTimeOffset.UtcNow.AddDays(-1)); // before the contact
        foreach (var id in control.Take(2))
        {
            await RespondAsync(id, CustomerEventTypes.Purchase, 50, later);
        }

        var results = (await Cluster.Client.GetGrain<ICampaignGrain>(run).GetResultsAsync())!;

        Assert.Equal((contacted.Count, 7L, 6L, 600m), (results.Contacted.Customers, results.Contacted.Responders, results.Contacted.Converters, results.Contacted.Revenue));
        Assert.Equal((control.Count, 2L, 2L, 100m), (results.Control.Customers, results.Control.Responders, results.Control.Converters, results.Control.Revenue));
        var uplift = (7.0 / contacted.Count) - (2.0 / control.Count);
        Assert.Equal(uplift, results.Uplift!.Value, 9);
        Assert.True(results.UpliftLow < uplift && uplift < results.UpliftHigh);
        Assert.Equal(2m * contacted.Count, results.Cost);
        Assert.Equal(Math.Round(600m - (100m / control.Count * contacted.Count), 2), results.IncrementalRevenue);
        Assert.Equal("email", Assert.Single(results.ByChannel).Name);
    }

    [Fact]
    public async Task A_journey_branches_on_whether_the_customer_responded_to_its_first_message()
    {
        var run = "jr" + Guid.NewGuid().ToString("N")[..6];
        var sms = new CustomerEvent("sms", CustomerEventTypes.ConsentChanged, DateTimeOffset.UtcNow.AddDays(-2), "t", "sms", new EventData(Purpose: "marketing", Granted: true));
        var ids = await CustomersAsync(run, 6, _ => [Consent(true), sms]);
        await TestSegments.DefineBackfilledAsync(Cluster.Client, (run, $"""tags contains "{run}" """));
        var wait = TimeSpan.FromSeconds(8);
        var journey = Campaign(run) with
        {
            Type = CampaignTypes.Journey,
            Policy = new ContactPolicySettings(MaxCampaignContactsPerDay: 5, QuietFromHour: 0, QuietToHour: 0),
            Steps =
            [
                new JourneyStep("thanks", wait, "responded", ["email"], new() { ["email"] = new MessageTemplate("Thank you", "Thanks, {{ customer.firstName }}") }),
                new JourneyStep("reminder", TimeSpan.Zero, "notResponded", ["sms"], new() { ["sms"] = new MessageTemplate(null, "Still interested, {{ customer.firstName }}?") }),
            ],
        };
        var campaign = Cluster.Client.GetGrain<ICampaignGrain>(run);
        await campaign.DefineAsync(journey);

        await campaign.LaunchAsync();
        await Poll.UntilAsync(async () => await campaign.GetStatusAsync() is { State: CampaignStates.Scheduled } s ? s : null, TimeSpan.FromSeconds(60), "the first message");
        foreach (var id in ids.Take(2))
        {
            await Cluster.Client.GetCustomer(id).RecordEventsAsync(
                [new CustomerEvent("buy", CustomerEventTypes.Purchase, DateTimeOffset.UtcNow, "t", "web", new EventData(Amount: 40))], createIfMissing: false);
        }

        var done = await Poll.UntilAsync(async () => await campaign.GetStatusAsync() is { State: CampaignStates.Completed } s ? s : null, TimeSpan.FromSeconds(90), "the journey to finish");
        var actions = await ActionsAsync(run);

        var byStep = actions.GroupBy(a => a.StepId.Split('-').Last()).ToDictionary(g => g.Key, g => g.Select(a => a.CustomerId).Order().ToArray());
        Assert.Equal(ids.Order(), byStep["r1"]);
        Assert.Equal(ids.Take(2).Order(), byStep["thanks"]);
        Assert.Equal(ids.Skip(2).Order(), byStep["reminder"]);
        Assert.All(actions.Where(a => a.StepId.EndsWith("-reminder", StringComparison.Ordinal)), a => Assert.Equal("sms", a.Channel));
        Assert.Equal(3, done.Runs!.Length);
        Assert.Equal(4, done.Runs[1].Suppressed);
    }
}
