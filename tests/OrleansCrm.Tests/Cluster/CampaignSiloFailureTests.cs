using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansCrm.Campaigns;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>
/// A launch to tens of thousands of customers on a PostgreSQL cluster of silo processes, with a silo killed
/// (SIGKILL) in the middle: every expected action is there exactly once.
/// </summary>
public sealed class CampaignSiloFailureTests
{
    private const int Customers = 20_000;

    [Fact]
    public async Task A_silo_killed_mid_launch_loses_no_action_and_sends_none_twice()
    {
        await using var pg = TestPostgres.Reserve();
        using var http = TestAuth.AdminClient(TimeSpan.FromMinutes(2));
        await using var cluster = await ProcessCluster.StartAsync(pg, http, silos: 2, "ck");
        var run = cluster.ClusterId;
        var api = cluster.Http;
        var ids = Enumerable.Range(0, Customers).Select(i => $"{run}-{i:00000}").ToArray();

        // Customers arrive as integrators send them: NDJSON batches, created on first sight. Every tenth opted out.
        foreach (var chunk in Enumerable.Range(0, Customers).Chunk(2_500))
        {
            var ndjson = new StringBuilder();
            foreach (var i in chunk)
            {
                var at = DateTimeOffset.UtcNow.AddDays(-1).ToString("O");
                ndjson.AppendLine(JsonSerializer.Serialize(new { customerId = ids[i], eventId = "p", type = "profile.changed", occurredAt = at, data = new { profile = new { firstName = "F" + i, tags = new[] { run } } } }));
                ndjson.AppendLine(JsonSerializer.Serialize(new { customerId = ids[i], eventId = "c", type = "consent.changed", occurredAt = at, channel = "email", data = new { purpose = "marketing", granted = i % 10 != 0 } }));
            }

            await Poll.UntilAsync(
                async () =>
                {
                    using var post = await http.PostAsync(new Uri(api, "/api/v1/events?createIfMissing=true"), new StringContent(ndjson.ToString(), Encoding.UTF8, "application/x-ndjson"));
                    return post.IsSuccessStatusCode;
                },
                TimeSpan.FromMinutes(2),
                "a batch of customers");
        }

        using var segment = await http.PutAsJsonAsync(new Uri(api, $"/api/v1/segments/{run}"), new { name = run, expression = $"""tags contains "{run}" """ });
        Assert.Equal(HttpStatusCode.OK, segment.StatusCode);
        await Poll.UntilAsync(
            async () => (await http.GetFromJsonAsync<JsonElement>(new Uri(api, $"/api/v1/segments/{run}"))).GetProperty("backfill").GetProperty("finished").GetBoolean(),
            TimeSpan.FromMinutes(3),
            "the segment backfill");

        using var define = await http.PutAsJsonAsync(new Uri(api, $"/api/v1/campaigns/{run}"), new
        {
            name = "Winter",
            type = "single",
            segments = new[] { run },
            channels = new[] { "email" },
            templates = new Dictionary<string, object> { ["email"] = new { subject = "Hi", body = "Hello {{ customer.firstName }}" } },
            controlShare = 0.1,
            policy = new { quietFromHour = 0, quietToHour = 0 },
        });
        Assert.Equal(HttpStatusCode.OK, define.StatusCode);
        using var launch = await http.PostAsync(new Uri(api, $"/api/v1/campaigns/{run}/launch"), null);
        Assert.Equal(HttpStatusCode.OK, launch.StatusCode);

        async Task<JsonElement?> StatusAsync()
        {
            using var response = await http.GetAsync(new Uri(api, $"/api/v1/campaigns/{run}"));
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>() : null;
        }

        await Poll.UntilAsync(async () => await StatusAsync() is { } s && s.GetProperty("targeted").GetInt64() >= Customers / 4, TimeSpan.FromMinutes(3), "a quarter of the launch");
        await cluster.Silos[0].KillAsync();
        cluster.StartSilo("silo3");

        var done = await Poll.UntilAsync(
            async () => await StatusAsync() is { } s && s.GetProperty("state").GetString() == "completed" ? s : (JsonElement?)null,
            TimeSpan.FromMinutes(5),
            "the launch to complete after the crash");

        var expected = ids.Where((id, i) => i % 10 != 0 && !ContactPolicy.InControlGroup(run, id, 0.1)).ToHashSet(StringComparer.Ordinal);
        var actions = await pg.ScalarAsync<long>($"SELECT count(*) FROM crm_campaign_actions WHERE campaign_id = '{run}'");
        var keys = await pg.ScalarAsync<long>($"SELECT count(DISTINCT idempotency_key) FROM crm_campaign_actions WHERE campaign_id = '{run}'");
        var customers = await pg.ScalarAsync<long>($"SELECT count(DISTINCT customer_id) FROM crm_campaign_actions WHERE campaign_id = '{run}'");
        var contacts = await pg.ScalarAsync<long>($"SELECT count(*) FROM crm_customer_events WHERE type = 'campaign.contact' AND data->>'campaign' = '{run}'");

        Assert.Equal(expected.Count, actions);
        Assert.Equal(actions, keys);
        Assert.Equal(actions, customers);
        Assert.Equal(actions, contacts);
        Assert.Equal(Customers, done!.Value.GetProperty("targeted").GetInt64());
        Assert.Equal(expected.Count, done.Value.GetProperty("sent").GetInt64());
        Assert.Equal(Customers / 10, done.Value.GetProperty("suppressed").GetProperty("no-consent").GetInt64());
        Assert.True(cluster.Silos[0].HasExited);

        // The control group is in the log too, once each, so results compare the two groups.
        var results = await http.GetFromJsonAsync<JsonElement>(new Uri(api, $"/api/v1/campaigns/{run}/results"));
        Assert.Equal(expected.Count, results.GetProperty("contacted").GetProperty("customers").GetInt64());
        Assert.Equal(ids.Where((id, i) => i % 10 != 0 && ContactPolicy.InControlGroup(run, id, 0.1)).Count(), results.GetProperty("control").GetProperty("customers").GetInt64());
    }
}
