using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>Campaigns as a campaign manager and an integrator use them through the gateway.</summary>
[Collection(EmbeddedCrmCollection.Name)]
public sealed class CampaignApiTests(EmbeddedCrmFixture crm)
{
    private Uri Url(string path) => new(crm.Gateway, path);

    private static object Definition(string segment, string body = "Hello {{ customer.firstName }}") => new
    {
        name = "Winter",
        type = "single",
        segments = new[] { segment },
        channels = new[] { "email" },
        templates = new Dictionary<string, object> { ["email"] = new { subject = "Hi", body } },
        policy = new { quietFromHour = 0, quietToHour = 0 },
    };

    /// <summary>A segment of the customers tagged <paramref name="run"/>, backfilled.</summary>
    private async Task DefineSegmentAsync(string run)
    {
        using var segment = await crm.Http.PutAsJsonAsync(Url($"/api/v1/segments/{run}"), new { name = run, expression = $"""tags contains "{run}" """ });
        await Poll.UntilAsync(
            async () => (await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/segments/{run}"))).GetProperty("backfill").GetProperty("finished").GetBoolean(),
            TimeSpan.FromSeconds(60),
            "segment backfill");
    }

    [Fact]
    public async Task A_bad_campaign_is_refused_naming_each_field_and_a_broken_template_names_its_place()
    {
        var id = "bad" + Guid.NewGuid().ToString("N")[..6];
        using var bad = await crm.Http.PutAsJsonAsync(Url($"/api/v1/campaigns/{id}"), new { name = "", type = "blast", segments = Array.Empty<string>(), channels = new[] { "fax" }, controlShare = 2 });
        using var template = await crm.Http.PutAsJsonAsync(Url($"/api/v1/campaigns/{id}"), Definition("x", "Hello {{ customer.firstName "));
        using var missing = await crm.Http.GetAsync(Url($"/api/v1/campaigns/{id}"));

        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        var templateErrors = (await template.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.All(new[] { "name", "type", "segments", "channels[0]", "controlShare", "templates.fax" }, f => Assert.True(errors.TryGetProperty(f, out _), f));
        Assert.Equal(HttpStatusCode.BadRequest, template.StatusCode);
        Assert.True(templateErrors.TryGetProperty("templates.email.body", out _), templateErrors.GetRawText());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_prospect_campaign_reaches_an_uploaded_list_of_people_who_are_not_customers_yet()
    {
        var run = "pr" + Guid.NewGuid().ToString("N")[..6];
        var customer = $"{run}-customer";
        using var put = await crm.Http.PutCustomerAsync(crm.Gateway, customer, new { firstName = "Old" });
        using var define = await crm.Http.PutAsJsonAsync(Url($"/api/v1/campaigns/{run}"), new
        {
            name = "Welcome",
            type = "prospect",
            channels = new[] { "email" },
            templates = new Dictionary<string, object> { ["email"] = new { subject = "Welcome", body = "Hello {{ customer.firstName }}" } },
            policy = new { quietFromHour = 0, quietToHour = 0 },
        });
        var csv = $"""
            prospectId,firstName,email,consent
            {run}-1,Ada,ada@example.com,email
            {run}-2,Bo,bo@example.com,email;sms
            {run}-3,Cy,not-an-address,email
            {customer},Old,old@example.com,email
            {run}-4,Di,di@example.com,
            """;
        async Task<HttpResponseMessage> UploadAsync(string campaign) =>
            await crm.Http.PutAsync(Url($"/api/v1/campaigns/{campaign}/prospects"), new StringContent(csv, Encoding.UTF8, "text/csv"));

        using var first = await UploadAsync(run);
        using var again = await UploadAsync(run);
        using var notProspect = await crm.Http.PutAsJsonAsync(Url($"/api/v1/campaigns/{run}-single"), Definition(run));
        using var wrongType = await UploadAsync($"{run}-single");
        using var launch = await crm.Http.PostAsync(Url($"/api/v1/campaigns/{run}/launch"), null);
        var done = await Poll.UntilAsync(
            async () => await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/campaigns/{run}")) is var s && s.GetProperty("state").GetString() == "completed" ? (JsonElement?)s : null,
            TimeSpan.FromSeconds(60),
            "the prospect campaign to complete");
        var feed = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/actions?campaignId={run}&limit=100"));
        var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{run}-1"));

        Assert.Equal(HttpStatusCode.OK, define.StatusCode);
        var upload = await first.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(3, upload.GetProperty("listed").GetInt32());
        Assert.Equal([4L, 5L], upload.GetProperty("rejected").EnumerateArray().Select(r => r.GetProperty("line").GetInt64()).ToArray());
        Assert.Equal("prospectId", upload.GetProperty("rejected")[1].GetProperty("field").GetString());
        Assert.Equal(3, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("listed").GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.Equal(HttpStatusCode.OK, launch.StatusCode);
        Assert.Equal((3L, 2L), (done!.Value.GetProperty("targeted").GetInt64(), done.Value.GetProperty("sent").GetInt64()));
        Assert.Equal(1L, done.Value.GetProperty("suppressed").GetProperty("no-consent").GetInt64());
        var actions = feed.GetProperty("actions").EnumerateArray().ToList();
        Assert.Equal(new[] { $"{run}-1", $"{run}-2" }, actions.Select(a => a.GetProperty("customerId").GetString()).Order(StringComparer.Ordinal).ToArray());
        Assert.Contains(actions, a => a.GetProperty("body").GetString() == "Hello Ada");
        Assert.Contains("prospect", view.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task A_launched_campaign_shows_progress_and_integrators_read_each_action_once_from_the_feed()
    {
        var run = "ca" + Guid.NewGuid().ToString("N")[..6];
        var ids = Enumerable.Range(0, 12).Select(i => $"{run}-{i:00}").ToArray();
        for (var i = 0; i < ids.Length; i++)
        {
            using var put = await crm.Http.PutCustomerAsync(crm.Gateway, ids[i], new { firstName = "F" + i, tags = new[] { run } });
            using var consent = await crm.Http.PostAsJsonAsync(Url($"/api/v1/customers/{ids[i]}/events"), new
            {
                eventId = "consent",
                type = "consent.changed",
                occurredAt = DateTimeOffset.UtcNow.AddMinutes(-5),
                channel = "email",
                data = new { purpose = "marketing", granted = i % 3 != 0 },
            });
            Assert.Equal(HttpStatusCode.OK, consent.StatusCode);
        }

        await DefineSegmentAsync(run);
        using var define = await crm.Http.PutAsJsonAsync(Url($"/api/v1/campaigns/{run}"), Definition(run));
        using var launch = await crm.Http.PostAsync(Url($"/api/v1/campaigns/{run}/launch"), null);
        var done = await Poll.UntilAsync(
            async () => await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/campaigns/{run}")) is var s && s.GetProperty("state").GetString() == "completed" ? (JsonElement?)s : null,
            TimeSpan.FromSeconds(60),
            "the campaign to complete");
        using var pause = await crm.Http.PostAsync(Url($"/api/v1/campaigns/{run}/pause"), null);

        var actions = new List<JsonElement>();
        var after = "0";
        while (true)
        {
            var page = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/actions?campaignId={run}&limit=5&after={after}"));
            var items = page.GetProperty("actions").EnumerateArray().ToList();
            actions.AddRange(items);
            after = page.GetProperty("next").GetString()!;
            if (items.Count < 5)
            {
                break;
            }
        }

        var consenting = ids.Where((_, i) => i % 3 != 0).ToHashSet();
        Assert.Equal(HttpStatusCode.OK, define.StatusCode);
        Assert.Equal(HttpStatusCode.OK, launch.StatusCode);
        Assert.Equal(12, done!.Value.GetProperty("targeted").GetInt64());
        Assert.Equal(consenting.Count, done.Value.GetProperty("sent").GetInt64());
        Assert.Equal(4, done.Value.GetProperty("suppressed").GetProperty("no-consent").GetInt64());
        Assert.Equal(HttpStatusCode.Conflict, pause.StatusCode);
        Assert.True(consenting.SetEquals(actions.Select(a => a.GetProperty("customerId").GetString()!)));
        Assert.Equal(actions.Count, actions.Select(a => a.GetProperty("idempotencyKey").GetString()).Distinct().Count());
        Assert.All(actions, a => Assert.StartsWith("Hello F", a.GetProperty("body").GetString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rule_that_names_the_campaign_being_launched_does_not_hold_up_its_launch()
    {
        // Each contact of this campaign fires a rule that names the same campaign: the customers the launch walk waits on
        // ask that campaign for its trigger step while it walks. Before, each such call waited out the response timeout.
        var run = "cyc" + Guid.NewGuid().ToString("N")[..6];
        using (var rule = await crm.Http.PutAsJsonAsync(Url($"/api/v1/rules/{run}"), new
        {
            name = "cycle",
            enabled = true,
            when = new { type = "campaign.contact", conditions = new[] { new { field = "customer.tags", op = "contains", value = run } } },
            then = new[] { new { action = "triggerCampaign", campaignId = run } },
        }))
        {
            Assert.True(rule.IsSuccessStatusCode, await rule.Content.ReadAsStringAsync());
        }

        for (var i = 0; i < 3; i++)
        {
            using var put = await crm.Http.PutCustomerAsync(crm.Gateway, $"{run}-{i}", new { firstName = "F" + i, tags = new[] { run } });
            using var consent = await crm.Http.PostAsJsonAsync(Url($"/api/v1/customers/{run}-{i}/events"), new
            {
                eventId = "consent", type = "consent.changed", occurredAt = DateTimeOffset.UtcNow.AddMinutes(-5), channel = "email", data = new { purpose = "marketing", granted = true },
            });
            Assert.Equal(HttpStatusCode.OK, consent.StatusCode);
        }

        await DefineSegmentAsync(run);
        using var define = await crm.Http.PutAsJsonAsync(Url($"/api/v1/campaigns/{run}"), Definition(run));
        Assert.Equal(HttpStatusCode.OK, define.StatusCode);
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var launch = await crm.Http.PostAsync(Url($"/api/v1/campaigns/{run}/launch"), null);
        Assert.Equal(HttpStatusCode.OK, launch.StatusCode);
        var done = await Poll.UntilAsync(
            async () => await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/campaigns/{run}")) is var s && s.GetProperty("state").GetString() == "completed" ? (JsonElement?)s : null,
            TimeSpan.FromSeconds(20),
            "the launch to complete without waiting out a response timeout");
        Assert.Equal(3L, done!.Value.GetProperty("sent").GetInt64());

        using var off = await crm.Http.PostAsync(Url($"/api/v1/rules/{run}/disable"), null);
    }

    [Fact]
    public async Task The_large_deposit_rule_starts_the_triggered_campaign_once_for_that_customer()
    {
        // The shipped rule triggers "large-deposit-investment"; defining and launching it makes the trigger live.
        using var define = await crm.Http.PutAsJsonAsync(Url("/api/v1/campaigns/large-deposit-investment"), new
        {
            name = "Large deposit: investment call",
            type = "triggered",
            segments = Array.Empty<string>(),
            channels = new[] { "email" },
            templates = new Dictionary<string, object> { ["email"] = new { subject = "Your deposit", body = "{{ customer.firstName }}, let us talk about {{ campaign.name }}" } },
            policy = new { quietFromHour = 0, quietToHour = 0 },
        });
        Assert.Equal(HttpStatusCode.OK, define.StatusCode);
        using var launch = await crm.Http.PostAsync(Url("/api/v1/campaigns/large-deposit-investment/launch"), null);
        Assert.Equal(HttpStatusCode.OK, launch.StatusCode);
        var id = "trig" + Guid.NewGuid().ToString("N")[..6];
        using var put = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { firstName = "Grace" });
        async Task PostAsync(object e)
        {
            using var response = await crm.Http.PostAsJsonAsync(Url($"/api/v1/customers/{id}/events"), e);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await PostAsync(new { eventId = "consent", type = "consent.changed", occurredAt = DateTimeOffset.UtcNow.AddMinutes(-5), channel = "email", data = new { purpose = "marketing", granted = true } });
        var small = new { eventId = "small", type = "deposit", occurredAt = DateTimeOffset.UtcNow.AddMinutes(-3), data = new { amount = 500 } };
        var big = new { eventId = "big", type = "deposit", occurredAt = DateTimeOffset.UtcNow.AddMinutes(-2), data = new { amount = 25_000 } };
        await PostAsync(small);
        await PostAsync(big);
        await PostAsync(big);

        async Task<List<JsonElement>> ActionsAsync()
        {
            var all = new List<JsonElement>();
            var after = "0";
            while (true)
            {
                var page = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/actions?campaignId=large-deposit-investment&limit=1000&after={after}"));
                var items = page.GetProperty("actions").EnumerateArray().ToList();
                all.AddRange(items.Where(a => a.GetProperty("customerId").GetString() == id));
                after = page.GetProperty("next").GetString()!;
                if (items.Count < 1000)
                {
                    return all;
                }
            }
        }

        var actions = await ActionsAsync();
        var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}"));

        var action = Assert.Single(actions);
        Assert.Equal("Grace, let us talk about Large deposit: investment call", action.GetProperty("body").GetString());
        Assert.Contains(view.GetProperty("recentContacts").EnumerateArray(), c => c.GetProperty("type").GetString() == "campaign.contact");

        // The campaign counts the triggered send (its counters are written within a second, not per trigger).
        await Poll.UntilAsync(
            async () => (await crm.Http.GetFromJsonAsync<JsonElement>(Url("/api/v1/campaigns/large-deposit-investment"))).GetProperty("sent").GetInt64() >= 1 ? (object)true : null,
            TimeSpan.FromSeconds(30),
            "the triggered send in the campaign's counters");
    }

    [Fact]
    public async Task Actions_are_pushed_to_the_webhook_signed_and_a_failed_delivery_is_retried()
    {
        const string Secret = "webhook-secret-0123456789";
        var run = "wh" + Guid.NewGuid().ToString("N")[..6];
        var port = Ports.Free();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/hook/");
        listener.Start();
        var received = new ConcurrentBag<(string Key, string Body, bool SignatureValid)>();
        var refusedOnce = 0;
        using var stop = new CancellationTokenSource();
        var receiver = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var context = await listener.GetContextAsync().WaitAsync(stop.Token);
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                var key = context.Request.Headers["Idempotency-Key"] ?? "";
                var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(body)));
                var ours = key.StartsWith(run + "/", StringComparison.Ordinal);

                // The first action of this campaign is refused once: it must come again later.
                var refuse = ours && Interlocked.CompareExchange(ref refusedOnce, 1, 0) == 0;
                if (ours && !refuse)
                {
                    received.Add((key, body, context.Request.Headers["X-Crm-Signature"] == expected));
                }

                context.Response.StatusCode = refuse ? 503 : 200;
                context.Response.Close();
            }
        });

        using var hook = await crm.Http.PutAsJsonAsync(Url("/api/v1/webhook"), new { url = $"http://127.0.0.1:{port}/hook/", secret = Secret });
        using var badHook = await crm.Http.PutAsJsonAsync(Url("/api/v1/webhook"), new { url = "http://example.com/hook", secret = Secret });
        Assert.Equal(HttpStatusCode.NoContent, hook.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badHook.StatusCode);
        var ids = Enumerable.Range(0, 3).Select(i => $"{run}-{i}").ToArray();
        foreach (var id in ids)
        {
            using var put = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { firstName = "W", tags = new[] { run } });
            using var consent = await crm.Http.PostAsJsonAsync(Url($"/api/v1/customers/{id}/events"), new
            {
                eventId = "consent", type = "consent.changed", occurredAt = DateTimeOffset.UtcNow.AddMinutes(-5), channel = "email", data = new { purpose = "marketing", granted = true },
            });
        }

        await DefineSegmentAsync(run);
        using var define = await crm.Http.PutAsJsonAsync(Url($"/api/v1/campaigns/{run}"), Definition(run));
        using var launch = await crm.Http.PostAsync(Url($"/api/v1/campaigns/{run}/launch"), null);

        await Poll.UntilAsync(() => Task.FromResult(received.Select(r => r.Key).Distinct().Count() == ids.Length), TimeSpan.FromSeconds(60), "every action at the webhook");
        var feed = await Poll.UntilAsync(
            async () => (await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/actions?campaignId={run}"))).GetProperty("actions").EnumerateArray().ToList() is var a
                && a.All(x => x.GetProperty("deliveryState").GetString() == "delivered") ? a : null,
            TimeSpan.FromSeconds(30),
            "the feed to show every action delivered");
        await stop.CancelAsync();
        listener.Stop();
        // The webhook is the cluster's: later tests of this CRM must not find it pointing at a stopped listener.
        using var off = await crm.Http.PutAsJsonAsync(Url("/api/v1/webhook"), new { url = $"http://127.0.0.1:{port}/hook/", secret = Secret, enabled = false });

        Assert.Equal(1, refusedOnce);
        Assert.All(received, r => Assert.True(r.SignatureValid, r.Key));
        Assert.Equal(ids.Order(), received.Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("customerId").GetString()!).Distinct().Order());
        Assert.Equal(ids.Length, feed.Count);
    }
}
