using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansCrm.Access;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Access;

/// <summary>A caller sees and changes only what belongs to their organisation unit's subtree: customers, lookups,
/// segments (and who can be in them), campaigns.</summary>
public sealed partial class OrgUnitScopingTests(AccessCrmFixture crm) : IClassFixture<AccessCrmFixture>
{
    [Fact]
    public async Task Customers_and_lookups_stop_at_the_callers_unit_and_new_customers_join_it()
    {
        await PutCustomerAsync(crm.Admin, "scope-n1", new { firstName = "Noor", email = "scope-n1@example.com", orgUnit = "nl/north/groningen" });
        await PutCustomerAsync(crm.Admin, "scope-s1", new { firstName = "Sam", email = "scope-s1@example.com", orgUnit = "nl/south" });
        var (agentId, secret) = await crm.CreateKeyAsync("north agent", "nl/north", Roles.Agent);
        using var agent = crm.KeyClient(secret);

        Assert.Equal(HttpStatusCode.OK, (await agent.GetAsync("/api/v1/customers/scope-n1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await agent.GetAsync("/api/v1/customers/scope-s1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await agent.PostAsJsonAsync("/api/v1/customers/scope-s1/events", new { type = "contact.logged" })).StatusCode);
        Assert.Equal(["scope-n1"], await LookupAsync(agent, "scope-n1@example.com"));
        Assert.Empty(await LookupAsync(agent, "scope-s1@example.com"));
        Assert.Equal(["scope-s1"], await LookupAsync(crm.Admin, "scope-s1@example.com"));

        await PutCustomerAsync(agent, "scope-n2", new { firstName = "Nina" });
        var view = await crm.Admin.GetFromJsonAsync<JsonElement>(new Uri(crm.Gateway, "/api/v1/customers/scope-n2"));
        Assert.Equal("nl/north", view.GetProperty("orgUnit").GetString());
        using var elsewhere = await agent.PutAsJsonAsync("/api/v1/customers/scope-n3", new { firstName = "Nils", orgUnit = "nl/south" });
        Assert.Equal(HttpStatusCode.Forbidden, elsewhere.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await crm.Admin.GetAsync(new Uri(crm.Gateway, "/api/v1/customers/scope-n3"))).StatusCode);

        var audit = await crm.AuditAsync("&customerId=scope-s1");
        Assert.Contains(audit, r => r.GetProperty("entry").GetProperty("outcome").GetString() == "out-of-unit");

        // Reads are answered once their record is queued; the record reaches the trail right after.
        await Poll.UntilAsync(
            async () => (await crm.AuditAsync("&customerId=scope-n1")).Any(r =>
                r.GetProperty("entry").GetProperty("action").GetString() == "GetCustomer" && r.GetProperty("entry").GetProperty("actor").GetString() == "key:" + agentId),
            TimeSpan.FromSeconds(30),
            "the agent's read of scope-n1 in the audit trail");
    }

    [Fact]
    public async Task A_segment_holds_only_customers_of_its_makers_unit_and_other_units_cannot_see_it()
    {
        await PutCustomerAsync(crm.Admin, "seg-n1", new { firstName = "Nora", tags = new[] { "scoped-seg" }, orgUnit = "nl/north" });
        await PutCustomerAsync(crm.Admin, "seg-s1", new { firstName = "Sara", tags = new[] { "scoped-seg" }, orgUnit = "nl/south" });
        var (_, northSecret) = await crm.CreateKeyAsync("north manager", "nl/north", Roles.CampaignManager);
        var (_, southSecret) = await crm.CreateKeyAsync("south manager", "nl/south", Roles.CampaignManager);
        using var north = crm.KeyClient(northSecret);
        using var south = crm.KeyClient(southSecret);

        using (var put = await north.PutAsJsonAsync("/api/v1/segments/north-scoped", new { name = "north", expression = "tags contains \"scoped-seg\"" }))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }

        await Poll.UntilAsync(
            async () => (await north.GetFromJsonAsync<JsonElement>("/api/v1/segments/north-scoped")).GetProperty("backfill") is { ValueKind: JsonValueKind.Object } b && b.GetProperty("finished").GetBoolean(),
            TimeSpan.FromSeconds(60),
            "the backfill of north-scoped");
        var members = await north.GetFromJsonAsync<JsonElement>("/api/v1/segments/north-scoped/members");
        Assert.Equal(["seg-n1"], members.GetProperty("members").EnumerateArray().Select(m => m.GetString()!).Where(id => id.StartsWith("seg-", StringComparison.Ordinal)));

        Assert.Equal(HttpStatusCode.NotFound, (await south.GetAsync("/api/v1/segments/north-scoped")).StatusCode);
        using (var preview = await south.PostAsJsonAsync("/api/v1/segments/preview", new { expression = "tags contains \"scoped-seg\"" }))
        {
            var examples = (await preview.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sampleMembers").EnumerateArray().Select(m => m.GetString()).ToList();
            Assert.Contains("seg-s1", examples);
            Assert.DoesNotContain("seg-n1", examples);
        }

        var southList = await south.GetFromJsonAsync<JsonElement>("/api/v1/segments");
        Assert.DoesNotContain("north-scoped", southList.EnumerateArray().Select(s => s.GetProperty("id").GetString()));
        var campaign = new { name = "reach", type = "single", segments = new[] { "north-scoped" }, channels = new[] { "email" }, templates = new Dictionary<string, object> { ["email"] = new { subject = "Hi", body = "Hello" } } };
        Assert.Equal(HttpStatusCode.NotFound, (await south.PutAsJsonAsync("/api/v1/campaigns/south-reach", campaign)).StatusCode);
        using (var own = await north.PutAsJsonAsync("/api/v1/campaigns/north-reach", campaign))
        {
            Assert.True(own.IsSuccessStatusCode, await own.Content.ReadAsStringAsync());
        }

        Assert.Equal(HttpStatusCode.NotFound, (await south.GetAsync("/api/v1/campaigns/north-reach")).StatusCode);
        var northCampaigns = await north.GetFromJsonAsync<JsonElement>("/api/v1/campaigns");
        var southCampaigns = await south.GetFromJsonAsync<JsonElement>("/api/v1/campaigns");
        Assert.Contains("north-reach", northCampaigns.EnumerateArray().Select(c => c.GetProperty("campaignId").GetString()));
        Assert.DoesNotContain("north-reach", southCampaigns.EnumerateArray().Select(c => c.GetProperty("campaignId").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await south.PostAsync("/api/v1/campaigns/north-reach/launch", null)).StatusCode);
    }

    private async Task PutCustomerAsync(HttpClient http, string id, object body)
    {
        using var response = await http.PutAsJsonAsync(new Uri(crm.Gateway, $"/api/v1/customers/{id}"), body);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<string[]> LookupAsync(HttpClient http, string email)
    {
        var found = await http.GetFromJsonAsync<JsonElement>(new Uri(crm.Gateway, $"/api/v1/lookup?email={Uri.EscapeDataString(email)}"));
        return [.. found.GetProperty("customerIds").EnumerateArray().Select(i => i.GetString()!)];
    }
}
