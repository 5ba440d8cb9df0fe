using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>Idempotency keys, the API reference and the live stream, on the one-process product (gateway inside the
/// silo, SQLite).</summary>
[Collection(EmbeddedCrmCollection.Name)]
public sealed partial class ApiQualityTests(EmbeddedCrmFixture crm)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static string NewId() => "apiq-" + Guid.NewGuid().ToString("N")[..10];

    private Uri Url(string path) => new(crm.Gateway, path);

    private async Task<string> CreateCustomerAsync()
    {
        var id = NewId();
        using var put = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { firstName = "Ada" });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        return id;
    }

    private static string Purchase(string eventId, decimal amount) =>
        $$"""{ "eventId": "{{eventId}}", "type": "purchase", "occurredAt": "{{DateTimeOffset.UtcNow.AddMinutes(-5):O}}", "channel": "web", "data": { "amount": {{amount}} } }""";

    private async Task<HttpResponseMessage> PostAsync(string path, string json, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url(path)) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        return await crm.Http.SendAsync(request);
    }

    [Fact]
    public async Task A_post_repeated_with_its_idempotency_key_gets_the_first_answer_without_a_second_effect()
    {
        var id = await CreateCustomerAsync();
        var body = Purchase("buy-1", 25m);

        using var first = await PostAsync($"/api/v1/customers/{id}/events", body, "order-17");
        using var repeat = await PostAsync($"/api/v1/customers/{id}/events", body, "order-17");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, repeat.StatusCode);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", repeat.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(first.Content.Headers.ContentType?.ToString(), repeat.Content.Headers.ContentType?.ToString());
        var firstBody = await first.Content.ReadAsStringAsync();
        Assert.Equal(firstBody, await repeat.Content.ReadAsStringAsync());
        // Run again, the event would have been acknowledged as a duplicate; the replay is the first answer itself.
        Assert.False(JsonDocument.Parse(firstBody).RootElement.GetProperty("acks")[0].GetProperty("duplicate").GetBoolean());

        var history = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}/history?limit=500"));
        Assert.Single(history.GetProperty("items").EnumerateArray(), e => e.GetProperty("type").GetString() == "purchase");
        var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}"));
        Assert.Equal(1, view.GetProperty("transactions").GetProperty("purchaseCount").GetInt32());
    }

    [Fact]
    public async Task An_idempotency_key_reused_with_a_different_body_is_refused_with_422()
    {
        var id = await CreateCustomerAsync();
        using var first = await PostAsync($"/api/v1/customers/{id}/events", Purchase("buy-1", 25m), "order-18");
        using var other = await PostAsync($"/api/v1/customers/{id}/events", Purchase("buy-2", 99m), "order-18");

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        Assert.Equal("application/problem+json", other.Content.Headers.ContentType?.MediaType);
        var problem = await other.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("Idempotency-Key", out _));
        var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}"));
        Assert.Equal(25m, view.GetProperty("transactions").GetProperty("purchaseTotal").GetDecimal());
    }

    [Fact]
    public async Task The_same_key_of_another_caller_or_on_another_request_is_independent_and_a_bad_key_is_a_400()
    {
        var a = await CreateCustomerAsync();
        var b = await CreateCustomerAsync();
        using var onA = await PostAsync($"/api/v1/customers/{a}/events", Purchase("buy-1", 10m), "shared-key");
        using var tooLong = await PostAsync($"/api/v1/customers/{b}/events", Purchase("buy-1", 10m), new string('k', 201));
        using var unprintable = await PostAsync($"/api/v1/customers/{b}/events", Purchase("buy-1", 10m), "tab\there");

        Assert.Equal(HttpStatusCode.OK, onA.StatusCode);
        foreach (var bad in new[] { tooLong, unprintable })
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            var problem = await bad.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(problem.GetProperty("errors").TryGetProperty("Idempotency-Key", out _));
        }

        var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{b}"));
        Assert.Equal(0, view.GetProperty("transactions").GetProperty("purchaseCount").GetInt32());
    }

    [Fact]
    public async Task A_key_sent_again_on_another_endpoint_is_a_422_not_a_replay_of_the_first_answer()
    {
        var a = await CreateCustomerAsync();
        var b = await CreateCustomerAsync();
        var body = Purchase("buy-1", 10m);
        using var onA = await PostAsync($"/api/v1/customers/{a}/events", body, "reused-key");

        using var onB = await PostAsync($"/api/v1/customers/{b}/events", body, "reused-key");
        using var withQuery = await PostAsync($"/api/v1/customers/{a}/events?createIfMissing=true", body, "reused-key");

        Assert.Equal(HttpStatusCode.OK, onA.StatusCode);
        foreach (var other in new[] { onB, withQuery })
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
            Assert.False(other.Headers.Contains("Idempotent-Replayed"));
            var problem = await other.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(problem.GetProperty("errors").TryGetProperty("Idempotency-Key", out _));
        }

        var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{b}"));
        Assert.Equal(0, view.GetProperty("transactions").GetProperty("purchaseCount").GetInt32());
    }

    [Fact]
    public async Task The_api_reference_is_served_at_docs_from_the_gateway_itself()
    {
        using var docs = await crm.Http.GetAsync(Url("/docs"));
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Equal("text/html", docs.Content.Headers.ContentType?.MediaType);
        var html = await docs.Content.ReadAsStringAsync();
        // The page reads the gateway's own OpenAPI document (a path relative to the site, not a URL elsewhere).
        Assert.Contains("\"url\":\"openapi/v1.json\"", html, StringComparison.Ordinal);

        // Every script and stylesheet the page loads comes from the gateway: nothing is fetched from the internet.
        var sources = SourceAttribute().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(sources);
        Assert.DoesNotContain(sources, s => s.StartsWith("http", StringComparison.OrdinalIgnoreCase) || s.StartsWith("//", StringComparison.Ordinal));
        Assert.DoesNotContain("fonts.scalar.com", html, StringComparison.OrdinalIgnoreCase);
        foreach (var source in sources)
        {
            using var asset = await crm.Http.GetAsync(new Uri(docs.RequestMessage!.RequestUri!, source));
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
        }

        var openApi = await crm.Http.GetFromJsonAsync<JsonElement>(Url("/openapi/v1.json"));
        var live = openApi.GetProperty("paths").GetProperty("/api/v1/customers/{customerId}/live").GetProperty("get");
        Assert.Equal("CustomerLive", live.GetProperty("operationId").GetString());
        Assert.True(live.GetProperty("responses").GetProperty("200").GetProperty("content").TryGetProperty("text/event-stream", out _));
    }

    [Fact]
    public async Task A_screen_watching_a_customer_hears_of_each_change()
    {
        var id = await CreateCustomerAsync();
        await using var live = await LiveStream.OpenAsync(crm.Http, crm.Gateway, id);
        Assert.Equal("text/event-stream", live.ContentType);
        var (_, ready) = await live.NextAsync("ready", Deadline);
        var readySequence = ready.GetProperty("sequence").GetInt64();

        using var post = await PostAsync($"/api/v1/customers/{id}/events", Purchase("buy-live", 12m), key: null);
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        var ack = (await post.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("acks")[0].GetProperty("sequence").GetInt64();

        var (_, changed) = await live.NextAsync("changed", Deadline);
        Assert.Equal(id, changed.GetProperty("customerId").GetString());
        Assert.True(changed.GetProperty("sequence").GetInt64() > readySequence);
        Assert.Equal(ack, changed.GetProperty("sequence").GetInt64());
        Assert.Equal(["purchase"], changed.GetProperty("eventTypes").EnumerateArray().Select(t => t.GetString()));

        // A quiet connection still shows a sign of life every 15 s, so proxies keep it open.
        var (_, heartbeat) = await live.NextAsync("heartbeat", Deadline);
        Assert.Equal(ack, heartbeat.GetProperty("sequence").GetInt64());
    }

    [Fact]
    public async Task Watching_an_unknown_customer_is_a_404()
    {
        using var response = await crm.Http.GetAsync(Url($"/api/v1/customers/{NewId()}/live"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [GeneratedRegex("""(?:src|href)="([^"#]+)""")]
    private static partial Regex SourceAttribute();
}
