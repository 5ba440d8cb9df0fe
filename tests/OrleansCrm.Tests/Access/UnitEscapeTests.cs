using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansCrm.Access;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Access;

/// <summary>The holes an outside probe found in writes and indirect paths, tried as that probe did: agents and campaign
/// managers of two units trying to move, plant, reach or detect the other unit's customers.</summary>
public sealed partial class OrgUnitScopingTests
{
    [Fact]
    public async Task An_event_cannot_move_a_customer_out_of_the_callers_unit_and_customers_it_creates_join_the_unit_in_the_log()
    {
        var run = "esc" + Guid.NewGuid().ToString("N")[..6];
        var (_, secret) = await crm.CreateKeyAsync($"{run} beijing agent", "cn/beijing", Roles.Agent);
        using var agent = crm.KeyClient(secret);
        await PutCustomerAsync(crm.Admin, $"{run}-1", new { firstName = "Wei", orgUnit = "cn/beijing" });

        // A profile change by event that names another unit: refused naming the field, and nothing moved.
        using (var move = await agent.PostAsJsonAsync($"/api/v1/customers/{run}-1/events",
            new { eventId = "move", type = "profile.changed", occurredAt = DateTimeOffset.UtcNow, data = new { profile = new { orgUnit = "cn/shanghai" } } }))
        {
            var body = await move.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.Forbidden, move.StatusCode);
            Assert.Contains("orgUnit", body, StringComparison.Ordinal);
        }

        Assert.Equal("cn/beijing", (await ViewAsync($"{run}-1")).GetProperty("orgUnit").GetString());

        // Within the caller's own subtree a move is fine.
        using (var within = await agent.PostAsJsonAsync($"/api/v1/customers/{run}-1/events",
            new { eventId = "within", type = "profile.changed", occurredAt = DateTimeOffset.UtcNow, data = new { profile = new { orgUnit = "cn/beijing/haidian" } } }))
        {
            Assert.Equal(HttpStatusCode.OK, within.StatusCode);
        }

        Assert.Equal("cn/beijing/haidian", (await ViewAsync($"{run}-1")).GetProperty("orgUnit").GetString());

        // Planting a new customer in another unit by createIfMissing: refused, and no customer made.
        using (var plant = await agent.PostAsJsonAsync($"/api/v1/customers/{run}-2/events?createIfMissing=true",
            new { eventId = "plant", type = "profile.changed", occurredAt = DateTimeOffset.UtcNow, data = new { profile = new { firstName = "Li", orgUnit = "cn/shanghai" } } }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, plant.StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await crm.Admin.GetAsync(new Uri(crm.Gateway, $"/api/v1/customers/{run}-2"))).StatusCode);

        // A customer the agent creates by any event belongs to the agent's unit, in the log as well as in the view,
        // so a state rebuilt from the log keeps it there.
        using (var create = await agent.PostAsJsonAsync($"/api/v1/customers/{run}-3/events?createIfMissing=true",
            new { eventId = "first-visit", type = "web.visit", occurredAt = DateTimeOffset.UtcNow.AddMinutes(-1), channel = "web" }))
        {
            Assert.Equal(HttpStatusCode.OK, create.StatusCode);
        }

        Assert.Equal("cn/beijing", (await ViewAsync($"{run}-3")).GetProperty("orgUnit").GetString());
        var history = await crm.Admin.GetFromJsonAsync<JsonElement>(new Uri(crm.Gateway, $"/api/v1/customers/{run}-3/history"));
        Assert.Contains(history.GetProperty("items").EnumerateArray(), h => h.GetProperty("type").GetString() == "profile.changed"
            && h.GetProperty("data").GetProperty("profile").GetProperty("orgUnit").GetString() == "cn/beijing");
        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync($"/api/v1/customers/{run}-3")).StatusCode);
    }

    [Fact]
    public async Task Event_ids_of_the_crms_own_events_are_refused_from_callers()
    {
        var run = "rid" + Guid.NewGuid().ToString("N")[..6];
        await PutCustomerAsync(crm.Admin, run, new { firstName = "Ida" });
        foreach (var id in new[] { "erasure", "campaign/x/v1-r1", $"{run}/e1", "unit/e1" })
        {
            using var post = await crm.Admin.PostAsJsonAsync(new Uri(crm.Gateway, $"/api/v1/customers/{run}/events"),
                new { eventId = id, type = "web.visit", occurredAt = DateTimeOffset.UtcNow, channel = "web" });
            var body = await post.Content.ReadAsStringAsync();
            Assert.True(post.StatusCode == HttpStatusCode.BadRequest, $"{id}: {(int)post.StatusCode} {body}");
            Assert.Contains("eventId", body, StringComparison.Ordinal);
        }

        using var batch = await crm.Admin.PostAsync(new Uri(crm.Gateway, "/api/v1/events"), new StringContent(
            $$"""{"eventId":"erasure","customerId":"{{run}}","type":"web.visit","occurredAt":"{{DateTimeOffset.UtcNow:O}}","channel":"web"}""" + "\n",
            Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.BadRequest, batch.StatusCode);
        var request = new HttpRequestMessage(HttpMethod.Put, new Uri(crm.Gateway, $"/api/v1/customers/{run}")) { Content = JsonContent.Create(new { firstName = "Ida" }) };
        request.Headers.Add("Idempotency-Key", "erasure");
        using var put = await crm.Admin.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var history = await crm.Admin.GetFromJsonAsync<JsonElement>(new Uri(crm.Gateway, $"/api/v1/customers/{run}/history"));
        Assert.DoesNotContain(history.GetProperty("items").EnumerateArray(), h => h.GetProperty("type").GetString() == "web.visit");
    }

    [Fact]
    public async Task A_campaign_on_a_segment_id_another_unit_defines_later_does_not_launch_across_it()
    {
        var run = "reach" + Guid.NewGuid().ToString("N")[..6];
        var (_, beijingSecret) = await crm.CreateKeyAsync($"{run} beijing manager", "cn/beijing", Roles.CampaignManager);
        var (_, shanghaiSecret) = await crm.CreateKeyAsync($"{run} shanghai manager", "cn/shanghai", Roles.CampaignManager);
        using var beijing = crm.KeyClient(beijingSecret);
        using var shanghai = crm.KeyClient(shanghaiSecret);
        await PutCustomerAsync(crm.Admin, $"{run}-sh", new { firstName = "Fang", email = $"{run}@example.com", tags = new[] { run }, orgUnit = "cn/shanghai" });

        // Defined while the segment id names nothing; Shanghai then defines a segment under that id.
        var campaign = new
        {
            name = "reach",
            type = "single",
            segments = new[] { run },
            channels = new[] { "email" },
            templates = new Dictionary<string, object> { ["email"] = new { subject = "Hi", body = "Hello {{ customer.firstName }} {{ customer.email }}" } },
            policy = new { quietFromHour = 0, quietToHour = 0 },
        };
        using (var define = await beijing.PutAsJsonAsync($"/api/v1/campaigns/{run}", campaign))
        {
            Assert.True(define.IsSuccessStatusCode, await define.Content.ReadAsStringAsync());
        }

        using (var segment = await shanghai.PutAsJsonAsync($"/api/v1/segments/{run}", new { name = run, expression = $"tags contains \"{run}\"" }))
        {
            Assert.True(segment.IsSuccessStatusCode, await segment.Content.ReadAsStringAsync());
        }

        await Poll.UntilAsync(
            async () => (await shanghai.GetFromJsonAsync<JsonElement>($"/api/v1/segments/{run}")).GetProperty("members").GetInt64() == 1,
            TimeSpan.FromSeconds(60),
            "the Shanghai customer in the Shanghai segment");

        using var launch = await beijing.PostAsync($"/api/v1/campaigns/{run}/launch", null);
        Assert.Equal(HttpStatusCode.Conflict, launch.StatusCode);
        var feed = await crm.Admin.GetFromJsonAsync<JsonElement>(new Uri(crm.Gateway, $"/api/v1/actions?campaignId={run}&limit=10"));
        Assert.Empty(feed.GetProperty("actions").EnumerateArray());
    }

    [Fact]
    public async Task Call_lists_and_capacity_stay_with_the_managers_unit()
    {
        var run = "cap" + Guid.NewGuid().ToString("N")[..6];
        await crm.CreateUserAsync($"{run}-bj-agent", "a long enough password 1", "cn/beijing", Roles.Agent);
        await crm.CreateUserAsync($"{run}-sh-agent", "a long enough password 1", "cn/shanghai", Roles.Agent);
        var (_, managerSecret) = await crm.CreateKeyAsync($"{run} beijing manager", "cn/beijing", Roles.CampaignManager);
        using var manager = crm.KeyClient(managerSecret);
        var current = await crm.Admin.GetFromJsonAsync<JsonElement>(new Uri(crm.Gateway, "/api/v1/capacity"));
        var agents = (current.TryGetProperty("agents", out var listed) && listed.ValueKind == JsonValueKind.Array ? listed.EnumerateArray().Select(a => (object)a).ToList() : [])
            .Concat([new { id = $"{run}-bj-agent", name = "Wei", dailyQuota = 10 }, new { id = $"{run}-sh-agent", name = "Fang", dailyQuota = 10 }]);
        using (var settings = await crm.Admin.PutAsJsonAsync(new Uri(crm.Gateway, "/api/v1/capacity"), new { channels = current.TryGetProperty("channels", out var c) ? (object)c : null, agents }))
        {
            Assert.True(settings.IsSuccessStatusCode, await settings.Content.ReadAsStringAsync());
        }

        Assert.Equal(HttpStatusCode.OK, (await manager.GetAsync($"/api/v1/agents/{run}-bj-agent/calls")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await manager.GetAsync($"/api/v1/agents/{run}-sh-agent/calls")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await manager.GetAsync($"/api/v1/agents/{run}-nobody/calls")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await crm.Admin.GetAsync(new Uri(crm.Gateway, $"/api/v1/agents/{run}-sh-agent/calls"))).StatusCode);

        var before = await crm.Admin.GetStringAsync(new Uri(crm.Gateway, "/api/v1/capacity"));
        using var put = await manager.PutAsync("/api/v1/capacity", new StringContent(before, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Forbidden, put.StatusCode);
        using var plan = await manager.PostAsync("/api/v1/capacity/plan", null);
        Assert.Equal(HttpStatusCode.Forbidden, plan.StatusCode);
        Assert.Equal(before, await crm.Admin.GetStringAsync(new Uri(crm.Gateway, "/api/v1/capacity")));
    }

    [Fact]
    public async Task A_prospect_list_cannot_overwrite_or_detect_another_units_person_and_its_prospects_join_the_campaigns_unit()
    {
        var run = "pro" + Guid.NewGuid().ToString("N")[..6];
        var (_, secret) = await crm.CreateKeyAsync($"{run} beijing manager", "cn/beijing", Roles.CampaignManager);
        using var manager = crm.KeyClient(secret);
        await PutCustomerAsync(crm.Admin, $"{run}-sh", new { firstName = "Fang", email = $"{run}-sh@example.com", orgUnit = "cn/shanghai" });
        await PutCustomerAsync(crm.Admin, $"{run}-bj", new { firstName = "Wei", orgUnit = "cn/beijing" });
        using (var define = await manager.PutAsJsonAsync($"/api/v1/campaigns/{run}", new
        {
            name = "Welcome",
            type = "prospect",
            channels = new[] { "email" },
            templates = new Dictionary<string, object> { ["email"] = new { subject = "Welcome", body = "Hello" } },
        }))
        {
            Assert.True(define.IsSuccessStatusCode, await define.Content.ReadAsStringAsync());
        }

        var csv = $"""
            prospectId,firstName,email
            {run}-new,Ada,{run}-new@example.com
            {run}-sh,Mallory,mallory@example.com
            {run}-bj,Mallory,mallory@example.com
            """;
        using var upload = await manager.PutAsync($"/api/v1/campaigns/{run}/prospects", new StringContent(csv, Encoding.UTF8, "text/csv"));
        var answer = await upload.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
        Assert.Equal(1, answer.GetProperty("listed").GetInt32());
        var rejected = answer.GetProperty("rejected").EnumerateArray().ToList();
        Assert.Equal([3L, 4L], rejected.Select(r => r.GetProperty("line").GetInt64()));

        // The other unit's person and the caller's own customer are refused with the same words, ids aside.
        Assert.Equal(rejected[0].GetProperty("reason").GetString()!.Replace($"{run}-sh", "ID", StringComparison.Ordinal),
            rejected[1].GetProperty("reason").GetString()!.Replace($"{run}-bj", "ID", StringComparison.Ordinal));
        Assert.Equal("Fang", (await ViewAsync($"{run}-sh")).GetProperty("firstName").GetString());
        var prospect = await ViewAsync($"{run}-new");
        Assert.Equal("cn/beijing", prospect.GetProperty("orgUnit").GetString());
        Assert.Equal(HttpStatusCode.OK, (await crm.KeyClient((await crm.CreateKeyAsync($"{run} beijing agent", "cn/beijing", Roles.Agent)).Secret)
            .GetAsync($"/api/v1/customers/{run}-new")).StatusCode);
    }

    [Fact]
    public async Task Conflicts_static_lists_and_previews_answer_alike_whether_or_not_another_unit_has_the_customer()
    {
        var run = "det" + Guid.NewGuid().ToString("N")[..6];
        var (_, agentSecret) = await crm.CreateKeyAsync($"{run} beijing agent", "cn/beijing", Roles.Agent);
        var (_, managerSecret) = await crm.CreateKeyAsync($"{run} beijing manager", "cn/beijing", Roles.CampaignManager);
        using var agent = crm.KeyClient(agentSecret);
        using var manager = crm.KeyClient(managerSecret);
        await PutCustomerAsync(crm.Admin, $"{run}-sh", new { firstName = "Fang", email = $"{run}-shared@example.com", tags = new[] { run }, orgUnit = "cn/shanghai" });
        await PutCustomerAsync(crm.Admin, $"{run}-bj", new { firstName = "Wei", email = $"{run}-own@example.com", tags = new[] { run }, orgUnit = "cn/beijing" });

        // An e-mail another unit's customer holds: no conflict named. One of the caller's own: named.
        using (var put = await agent.PutAsJsonAsync($"/api/v1/customers/{run}-new", new { firstName = "Li", email = $"{run}-shared@example.com" }))
        {
            var body = await put.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            Assert.Empty(body.GetProperty("conflicts").EnumerateArray());
        }

        using (var put = await agent.PutAsJsonAsync($"/api/v1/customers/{run}-new2", new { firstName = "Li", email = $"{run}-own@example.com" }))
        {
            var body = await put.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains($"{run}-bj", Assert.Single(body.GetProperty("conflicts").EnumerateArray()).GetString(), StringComparison.Ordinal);
        }

        // A static list naming another unit's customer reports it exactly as a missing one.
        using (var list = await manager.PutAsJsonAsync($"/api/v1/segments/{run}-list", new { name = "list", customerIds = new[] { $"{run}-bj", $"{run}-sh", $"{run}-missing" } }))
        {
            var body = await list.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(list.IsSuccessStatusCode, body.ToString());
            Assert.Equal(2, body.GetProperty("unknownCustomers").GetInt32());
            Assert.Equal([$"{run}-missing", $"{run}-sh"], body.GetProperty("unknownCustomerIds").EnumerateArray().Select(i => i.GetString()!).Order(StringComparer.Ordinal));
        }

        // A preview that names another unit counts nothing there.
        using (var preview = await manager.PostAsJsonAsync("/api/v1/segments/preview", new { expression = $"orgUnit = \"cn/shanghai\" and tags contains \"{run}\"", sampleSize = 10000 }))
        {
            var body = await preview.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(preview.IsSuccessStatusCode, body.ToString());
            Assert.Equal(0, body.GetProperty("matched").GetInt32());
        }
    }

    private async Task<JsonElement> ViewAsync(string id) =>
        await crm.Admin.GetFromJsonAsync<JsonElement>(new Uri(crm.Gateway, $"/api/v1/customers/{id}"));
}
