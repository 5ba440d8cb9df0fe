using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrleansCrm.Access;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Access;

/// <summary>What an operator's Prometheus and dashboard see: <c>/metrics</c> names the gateway's, Orleans' and the
/// CRM's own metrics with the counts of what just happened, for administrators and integrators only.</summary>
public sealed partial class MetricsTests(AccessCrmFixture crm) : IClassFixture<AccessCrmFixture>
{
    [Fact]
    public async Task Metrics_count_requests_grain_calls_storage_segments_and_a_campaign_and_the_dashboard_answers()
    {
        var run = "mx" + Guid.NewGuid().ToString("N")[..6];
        for (var i = 0; i < 3; i++)
        {
            await OkAsync(crm.Admin.PutAsJsonAsync(Url($"/api/v1/customers/{run}-{i}"), new { firstName = "M" + i, tags = new[] { run } }));
            await OkAsync(crm.Admin.PostAsJsonAsync(Url($"/api/v1/customers/{run}-{i}/events"), new
            {
                eventId = "consent",
                type = "consent.changed",
                occurredAt = DateTimeOffset.UtcNow.AddMinutes(-5),
                channel = "email",
                data = new { purpose = "marketing", granted = true },
            }));
        }

        await OkAsync(crm.Admin.PutAsJsonAsync(Url($"/api/v1/segments/{run}"), new { name = run, expression = $"""tags contains "{run}" """ }));
        await Poll.UntilAsync(
            async () => (await crm.Admin.GetFromJsonAsync<JsonElement>(Url($"/api/v1/segments/{run}"))).GetProperty("members").GetInt64() == 3,
            TimeSpan.FromSeconds(60),
            "three members");
        await OkAsync(crm.Admin.PutAsJsonAsync(Url($"/api/v1/campaigns/{run}"), new
        {
            name = "Metrics",
            type = "single",
            segments = new[] { run },
            channels = new[] { "email" },
            templates = new Dictionary<string, object> { ["email"] = new { subject = "Hi", body = "Hello" } },
            policy = new { quietFromHour = 0, quietToHour = 0 },
        }));
        await OkAsync(crm.Admin.PostAsync(Url($"/api/v1/campaigns/{run}/launch"), null));
        await Poll.UntilAsync(
            async () => (await crm.Admin.GetFromJsonAsync<JsonElement>(Url($"/api/v1/campaigns/{run}"))).GetProperty("state").GetString() == "completed",
            TimeSpan.FromSeconds(60),
            "the campaign to complete");

        // The exporter refreshes its snapshot on a short cache: read until the campaign's counts are in it.
        var text = await Poll.UntilAsync(
            async () => await crm.Admin.GetStringAsync(Url("/metrics")) is var t && Sum(t, "crm_campaign_actions_total") >= 3 ? t : null,
            TimeSpan.FromSeconds(30),
            "the campaign's actions in /metrics");

        Assert.True(Sum(text, "http_server_request_duration_seconds_count") > 10, "requests at the gateway");
        Assert.True(Sum(text, "orleans_app_requests_latency_milliseconds_count") > 10, "grain calls");
        Assert.True(Sum(text, "orleans_catalog_activations") >= 4, "activations");
        Assert.True(Sum(text, "orleans_storage_write_latency_milliseconds_count") > 0, "grain state writes");
        Assert.True(Sum(text, "crm_storage_duration_seconds_count", "operation=\"group.commit\"") >= 1, "group commits of the silo's writer");
        Assert.True(Sum(text, "crm_writer_batch_rows_sum") >= 6, "rows written by group commits");
        Assert.True(Sum(text, "crm_customer_events_total") >= 6, "events recorded");
        Assert.True(Sum(text, "crm_segment_changes_total", "change=\"join\"") >= 3, "segment joins");
        Assert.True(Sum(text, "crm_campaign_decisions_total", "outcome=\"send\"") >= 3, "campaign decisions");

        using var anonymous = new HttpClient { BaseAddress = crm.Gateway };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/metrics")).StatusCode);
        var (_, agentKey) = await crm.CreateKeyAsync("metrics agent", "", Roles.Agent);
        using var agent = crm.KeyClient(agentKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await agent.GetAsync("/dashboard/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await crm.Admin.GetAsync(Url("/dashboard/"))).StatusCode);
    }

    [Fact]
    public async Task The_dashboard_can_have_a_port_of_its_own()
    {
        var folder = Directory.CreateTempSubdirectory("crm-dashboard-").FullName;
        try
        {
            var (api, dashboardPort) = (Ports.Free(), Ports.Free());
            var config = TestConfig.Sqlite(Path.Combine(folder, "data", "crm.db"), Ports.Free(), Ports.Free(), api);
            config["gateway"]!["dashboardPort"] = dashboardPort;
            await using var process = CrmProcess.Start(Repo.SiloDll, folder, config, "crm");
            using var admin = TestAuth.AdminClient(TimeSpan.FromSeconds(30));
            await process.WaitReadyAsync(admin, TimeSpan.FromSeconds(90));

            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"http://127.0.0.1:{dashboardPort}/dashboard/")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"http://127.0.0.1:{api}/dashboard/")).StatusCode);
            using var anonymous = new HttpClient();
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"http://127.0.0.1:{dashboardPort}/dashboard/")).StatusCode);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The sum of every sample of <paramref name="metric"/> (optionally only samples whose labels contain
    /// <paramref name="label"/>) in Prometheus' text format.</summary>
    private static double Sum(string text, string metric, string? label = null) => text
        .Split('\n')
        .Select(line => Sample().Match(line))
        .Where(m => m.Success && m.Groups["name"].Value == metric && (label is null || m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)))
        .Sum(m => double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    private static async Task OkAsync(Task<HttpResponseMessage> call)
    {
        using var response = await call;
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private Uri Url(string path) => new(crm.Gateway, path);

    // Label values may hold braces themselves (http_route="/api/v1/customers/{customerId}"): labels run to the last '}'.
    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>[-+0-9.eE]+)(\s+\d+)?\s*$")]
    private static partial Regex Sample();
}
