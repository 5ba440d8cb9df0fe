using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>Events, history, lookup and merge as an integrator drives them through the gateway.</summary>
[Collection(EmbeddedCrmCollection.Name)]
public sealed class EventApiTests(EmbeddedCrmFixture crm)
{
    private static string NewId() => "evapi-" + Guid.NewGuid().ToString("N")[..10];

    private Uri Url(string path) => new(crm.Gateway, path);

    private async Task<string> CreateCustomerAsync()
    {
        var id = NewId();
        using var put = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { firstName = "Ada", email = $"{id}@example.com", phone = "+1 212 555 0101" });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        return id;
    }

    private Task<HttpResponseMessage> PostJsonAsync(string path, string json) =>
        crm.Http.PostAsync(Url(path), new StringContent(json, Encoding.UTF8, "application/json"));

    private async Task<JsonElement> ViewAsync(string id) => await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}"));

    private async Task<int> HistoryCountAsync(string id)
    {
        var page = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}/history?limit=500"));
        return page.GetProperty("items").GetArrayLength();
    }

    [Fact]
    public async Task A_view_asked_for_some_fields_carries_only_those_and_an_unknown_field_is_refused()
    {
        var id = await CreateCustomerAsync();
        using (var purchase = await PostJsonAsync($"/api/v1/customers/{id}/events",
            JsonSerializer.Serialize(new { eventId = "f1", type = "purchase", occurredAt = DateTimeOffset.UtcNow.AddDays(-3), data = new { amount = 12.5m } })))
        {
            Assert.Equal(HttpStatusCode.OK, purchase.StatusCode);
        }

        var whole = await ViewAsync(id);
        var some = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}?fields=firstName,%20transactions,segments"));
        Assert.Equal(["customerId", "firstName", "segments", "transactions"], some.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(id, some.GetProperty("customerId").GetString());
        Assert.Equal("Ada", some.GetProperty("firstName").GetString());
        Assert.Equal(whole.GetProperty("transactions").GetProperty("purchaseTotal").GetDecimal(), some.GetProperty("transactions").GetProperty("purchaseTotal").GetDecimal());
        Assert.True(whole.TryGetProperty("scores", out _));
        Assert.True(whole.TryGetProperty("nextBestActions", out _));

        var scores = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}?fields=scores"));
        Assert.Equal(["customerId", "scores"], scores.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(whole.GetProperty("scores").EnumerateObject().Select(p => p.Name), scores.GetProperty("scores").EnumerateObject().Select(p => p.Name));

        foreach (var bad in new[] { "firstName,password", ",", new string('x', 1001) })
        {
            using var refused = await crm.Http.GetAsync(Url($"/api/v1/customers/{id}?fields={Uri.EscapeDataString(bad)}"));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(problem.GetProperty("errors").TryGetProperty("fields", out _), problem.ToString());
        }
    }

    [Fact]
    public async Task A_posted_event_shows_in_the_next_view_and_its_retry_is_acknowledged_as_a_duplicate()
    {
        var id = await CreateCustomerAsync();
        var when = DateTimeOffset.UtcNow.AddHours(-1).ToString("O");
        var body = $$"""{ "eventId": "buy-1", "type": "purchase", "occurredAt": "{{when}}", "channel": "web", "data": { "amount": 49.90, "productId": "sku-1" } }""";

        using var first = await PostJsonAsync($"/api/v1/customers/{id}/events", body);
        using var retry = await PostJsonAsync($"/api/v1/customers/{id}/events", body);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var ack1 = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("acks")[0];
        var ack2 = (await retry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("acks")[0];
        Assert.False(ack1.GetProperty("duplicate").GetBoolean());
        Assert.True(ack2.GetProperty("duplicate").GetBoolean());
        Assert.Equal(ack1.GetProperty("sequence").GetInt64(), ack2.GetProperty("sequence").GetInt64());
        var view = await ViewAsync(id);
        Assert.Equal(49.90m, view.GetProperty("transactions").GetProperty("purchaseTotal").GetDecimal());
        Assert.Equal(1, view.GetProperty("transactions").GetProperty("purchaseCount").GetInt32());
        Assert.Equal(2, await HistoryCountAsync(id));
    }

    [Fact]
    public async Task A_batch_naming_an_erased_customer_stores_nothing_or_answers_that_customers_lines_alone()
    {
        var erased = await CreateCustomerAsync();
        var live = await CreateCustomerAsync();
        using (var erase = await crm.Http.PostAsync(Url($"/api/v1/customers/{erased}/erase"), null))
        {
            Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
        }

        var when = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O");
        var batch = $$"""
            {"eventId":"b-1","customerId":"{{live}}","type":"web.visit","occurredAt":"{{when}}","channel":"web"}
            {"eventId":"b-2","customerId":"{{erased}}","type":"web.visit","occurredAt":"{{when}}","channel":"web"}
            """;

        // Checked whole first: refused, and the valid line was not stored either.
        using (var refused = await crm.Http.PostAsync(Url("/api/v1/events"), new StringContent(batch, Encoding.UTF8, "application/x-ndjson")))
        {
            var body = await refused.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("line 2: customerId", body, StringComparison.Ordinal);
        }

        Assert.Equal(1, await HistoryCountAsync(live));

        // Taken as it comes (createIfMissing): the erased customer's line is answered by itself, the rest recorded.
        using (var partial = await crm.Http.PostAsync(Url("/api/v1/events?createIfMissing=true"), new StringContent(batch, Encoding.UTF8, "application/x-ndjson")))
        {
            var body = await partial.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(HttpStatusCode.MultiStatus, partial.StatusCode);
            Assert.Equal(1, body.GetProperty("accepted").GetInt32());
            var line = Assert.Single(body.GetProperty("refused").EnumerateArray());
            Assert.Equal((2, erased), (line.GetProperty("line").GetInt32(), line.GetProperty("customerId").GetString()));
        }

        Assert.Equal(2, await HistoryCountAsync(live));
    }

    [Fact]
    public async Task An_integrator_that_asks_for_a_minimal_answer_gets_the_acknowledgement_without_the_view()
    {
        var id = await CreateCustomerAsync();
        var when = DateTimeOffset.UtcNow.AddHours(-1).ToString("O");
        using var request = new HttpRequestMessage(HttpMethod.Post, Url($"/api/v1/customers/{id}/events"))
        {
            Content = new StringContent($$"""{ "eventId": "min-1", "type": "purchase", "occurredAt": "{{when}}", "data": { "amount": 12.50 } }""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Prefer", "return=minimal");

        using var response = await crm.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("return=minimal", Assert.Single(response.Headers.GetValues("Preference-Applied")));
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(id, answer.GetProperty("customerId").GetString());
        Assert.False(answer.GetProperty("acks")[0].GetProperty("duplicate").GetBoolean());
        Assert.True(!answer.TryGetProperty("view", out var view) || view.ValueKind == JsonValueKind.Null, "the answer carried the view");
        Assert.Equal(12.50m, (await ViewAsync(id)).GetProperty("transactions").GetProperty("purchaseTotal").GetDecimal());
    }

    [Fact]
    public async Task A_batch_of_ndjson_events_lands_on_each_customer()
    {
        var a = await CreateCustomerAsync();
        var b = await CreateCustomerAsync();
        var when = DateTimeOffset.UtcNow.AddDays(-2).ToString("O");
        var lines = string.Join('\n',
            $$"""{"customerId":"{{a}}","eventId":"x1","type":"deposit","occurredAt":"{{when}}","data":{"amount":1000} }""",
            $$"""{"customerId":"{{b}}","eventId":"x1","type":"withdrawal","occurredAt":"{{when}}","data":{"amount":20} }""",
            $$"""{"customerId":"{{a}}","eventId":"x2","type":"call.inbound","occurredAt":"{{when}}","channel":"phone","data":{"agent":"a-1","outcome":"sold"} }""");

        using var post = await crm.Http.PostAsync(Url("/api/v1/events"), new StringContent(lines, Encoding.UTF8, "application/x-ndjson"));

        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        var result = await post.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, result.GetProperty("accepted").GetInt32());
        Assert.Equal(1000m, (await ViewAsync(a)).GetProperty("transactions").GetProperty("depositTotal").GetDecimal());
        Assert.Equal("a-1", (await ViewAsync(a)).GetProperty("recentContacts")[0].GetProperty("agent").GetString());
        Assert.Equal(20m, (await ViewAsync(b)).GetProperty("transactions").GetProperty("withdrawalTotal").GetDecimal());
    }

    public static TheoryData<string, string> BadEvents()
    {
        var now = DateTimeOffset.UtcNow.ToString("O");
        return new TheoryData<string, string>
        {
            { """{ "eventId": "e", "type": "purchase", "occurredAt": """, "occurredAt" },
            { $$"""{ "eventId": "e", "type": "teleport", "occurredAt": "{{now}}" }""", "type" },
            { $$"""{ "type": "purchase", "occurredAt": "{{now}}", "data": { "amount": 5 } }""", "eventId" },
            { $$"""{ "eventId": "e", "type": "purchase", "occurredAt": "{{now}}" }""", "data.amount" },
            { $$"""{ "eventId": "e", "type": "purchase", "occurredAt": "{{now}}", "data": { "amount": "lots" } }""", "data.amount" },
            { $$"""{ "eventId": "e", "type": "purchase", "occurredAt": "{{now}}", "data": { "amount": -3 } }""", "data.amount" },
            { """{ "eventId": "e", "type": "purchase", "occurredAt": "2999-01-01T00:00:00Z", "data": { "amount": 3 } }""", "occurredAt" },
            { """{ "eventId": "e", "type": "purchase", "occurredAt": "yesterday", "data": { "amount": 3 } }""", "occurredAt" },
            { $$"""{ "eventId": "e", "type": "purchase", "occurredAt": "{{now}}", "data": { "amount": 3, "productName": "{{new string('x', 600)}}" } }""", "data.productName" },
            { $$"""{ "eventId": "{{new string('e', 200)}}", "type": "purchase", "occurredAt": "{{now}}", "data": { "amount": 3 } }""", "eventId" },
            { $$"""{ "eventId": "e", "type": "consent.changed", "occurredAt": "{{now}}", "data": { "purpose": "marketing" } }""", "channel" },
            { $$"""{ "eventId": "e", "type": "web.visit", "occurredAt": "{{now}}", "channel": "telepathy" }""", "channel" },
        };
    }

    [Theory]
    [MemberData(nameof(BadEvents))]
    public async Task A_bad_event_is_a_400_problem_naming_the_field_and_nothing_is_stored(string json, string field)
    {
        var id = await CreateCustomerAsync();

        using var post = await PostJsonAsync($"/api/v1/customers/{id}/events", json);

        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        Assert.Equal("application/problem+json", post.Content.Headers.ContentType?.MediaType);
        var problem = await post.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors should name {field}: {problem}");
        Assert.Equal(1, await HistoryCountAsync(id));
        Assert.Equal(1, (await ViewAsync(id)).GetProperty("eventCount").GetInt32());
    }

    [Fact]
    public async Task An_oversized_event_body_is_refused_with_413()
    {
        var id = await CreateCustomerAsync();
        var json = $$"""{ "eventId": "e", "type": "web.visit", "occurredAt": "{{DateTimeOffset.UtcNow:O}}", "data": { "note": "{{new string('n', 100_000)}}" } }""";

        using var post = await PostJsonAsync($"/api/v1/customers/{id}/events", json);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, post.StatusCode);
        Assert.Equal(1, await HistoryCountAsync(id));
    }

    [Fact]
    public async Task An_event_for_an_unknown_customer_is_a_404_and_creates_nothing()
    {
        var id = NewId();
        var json = $$"""{ "eventId": "e", "type": "web.visit", "occurredAt": "{{DateTimeOffset.UtcNow:O}}" }""";

        using var post = await PostJsonAsync($"/api/v1/customers/{id}/events", json);
        using var get = await crm.Http.GetAsync(Url($"/api/v1/customers/{id}"));

        Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task A_batch_with_one_bad_line_is_refused_whole_naming_the_line()
    {
        var a = await CreateCustomerAsync();
        var when = DateTimeOffset.UtcNow.AddDays(-1).ToString("O");
        var lines = string.Join('\n',
            $$"""{"customerId":"{{a}}","eventId":"ok","type":"deposit","occurredAt":"{{when}}","data":{"amount":10} }""",
            $$"""{"customerId":"{{a}}","eventId":"bad","type":"deposit","occurredAt":"{{when}}","data":{"amount":-10} }""");

        using var post = await crm.Http.PostAsync(Url("/api/v1/events"), new StringContent(lines, Encoding.UTF8, "application/x-ndjson"));

        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        var problem = await post.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("line 2: data.amount", out _), problem.ToString());
        Assert.Equal(1, await HistoryCountAsync(a));
    }

    [Fact]
    public async Task Lookup_finds_a_customer_by_phone_and_email_as_an_agent_types_them()
    {
        var id = await CreateCustomerAsync();

        var byMail = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/lookup?email={Uri.EscapeDataString(id.ToUpperInvariant() + "@EXAMPLE.com")}"));
        using var missing = await crm.Http.GetAsync(Url("/api/v1/lookup"));

        Assert.Contains(id, byMail.GetProperty("customerIds").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
    }

    [Fact]
    public async Task Merge_through_the_gateway_forwards_the_old_id()
    {
        var survivor = await CreateCustomerAsync();
        var other = await CreateCustomerAsync();

        using var merge = await crm.Http.PostAsJsonAsync(Url($"/api/v1/customers/{survivor}/merge"), new { otherCustomerId = other });
        using var self = await crm.Http.PostAsJsonAsync(Url($"/api/v1/customers/{survivor}/merge"), new { otherCustomerId = survivor });

        Assert.Equal(HttpStatusCode.OK, merge.StatusCode);
        Assert.Equal(survivor, (await ViewAsync(other)).GetProperty("customerId").GetString());
        Assert.Equal(2, await HistoryCountAsync(survivor));
        Assert.Equal(HttpStatusCode.BadRequest, self.StatusCode);
        var problem = await self.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("otherCustomerId", out _));
    }
}
