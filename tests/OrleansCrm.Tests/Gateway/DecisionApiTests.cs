using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>Rules, offers and outcomes as a campaign manager and an agent use them through the gateway.</summary>
[Collection(EmbeddedCrmCollection.Name)]
public sealed class DecisionApiTests(EmbeddedCrmFixture crm)
{
    private Uri Url(string path) => new(crm.Gateway, path);

    private Task<HttpResponseMessage> PutJsonAsync(string path, string json) =>
        crm.Http.PutAsync(Url(path), new StringContent(json, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task An_invalid_rule_is_refused_with_a_message_that_points_at_the_error_and_changes_nothing()
    {
        var before = await crm.Http.GetFromJsonAsync<JsonElement>(Url("/api/v1/rules"));

        using var put = await PutJsonAsync("/api/v1/rules/bad-rule",
            """{"name":"Bad","enabled":true,"when":{"type":"deposit","conditions":[{"field":"data.amount","op":"=>","value":5}]},"then":[{"action":"tag","tag":"x"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var problem = await put.Content.ReadFromJsonAsync<JsonElement>();
        var message = problem.GetProperty("errors").GetProperty("when.conditions[0].op")[0].GetString();
        Assert.Contains("unknown operator \"=>\"", message, StringComparison.Ordinal);
        var after = await crm.Http.GetFromJsonAsync<JsonElement>(Url("/api/v1/rules"));
        Assert.Equal(before.GetProperty("version").GetInt64(), after.GetProperty("version").GetInt64());
    }

    [Theory]
    [InlineData("/api/v1/rules/huge-rule")]
    [InlineData("/api/v1/offers/huge-offer")]
    [InlineData("/api/v1/models")]
    public async Task A_body_over_one_mebibyte_is_refused_with_413_and_changes_nothing(string path)
    {
        var rulesBefore = await crm.Http.GetFromJsonAsync<JsonElement>(Url("/api/v1/rules"));
        var padding = new string('x', (1024 * 1024) + 10);

        using var put = await PutJsonAsync(path, $$"""{"name":"{{padding}}"}""");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, put.StatusCode);
        Assert.Equal("application/problem+json", put.Content.Headers.ContentType?.MediaType);
        var rulesAfter = await crm.Http.GetFromJsonAsync<JsonElement>(Url("/api/v1/rules"));
        Assert.Equal(rulesBefore.GetProperty("version").GetInt64(), rulesAfter.GetProperty("version").GetInt64());
    }

    [Fact]
    public async Task A_rule_can_be_created_listed_and_disabled()
    {
        var id = "rule-" + Guid.NewGuid().ToString("N")[..8];
        using var put = await PutJsonAsync($"/api/v1/rules/{id}",
            $$"""{"name":"Visited pricing","enabled":true,"when":{"type":"web.visit","conditions":[{"field":"data.url","op":"=","value":"/{{id}}"}]},"then":[{"action":"tag","tag":"{{id}}"}]}""");
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var list = await crm.Http.GetFromJsonAsync<JsonElement>(Url("/api/v1/rules"));
        using var disable = await crm.Http.PostAsync(Url($"/api/v1/rules/{id}/disable"), null);
        using var missing = await crm.Http.PostAsync(Url("/api/v1/rules/no-such-rule/disable"), null);

        Assert.Contains(list.GetProperty("document").GetProperty("rules").EnumerateArray(), r => r.GetProperty("id").GetString() == id);
        Assert.Equal(HttpStatusCode.OK, disable.StatusCode);
        Assert.False((await disable.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("document").GetProperty("enabled").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_large_deposit_proposes_the_investment_offer_and_a_decline_removes_it()
    {
        var id = "dec-" + Guid.NewGuid().ToString("N")[..8];
        using var create = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { firstName = "Ada" });
        var deposit = $$"""{"eventId":"big","type":"deposit","occurredAt":"{{DateTimeOffset.UtcNow.AddMinutes(-5):O}}","data":{"amount":12000} }""";

        using var post = await crm.Http.PostAsync(Url($"/api/v1/customers/{id}/events"), new StringContent(deposit, Encoding.UTF8, "application/json"));
        var view = (await post.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("view");

        Assert.Contains(view.GetProperty("alerts").EnumerateArray(), a => a.GetProperty("ruleId").GetString() == "large-deposit-investment");
        Assert.Contains(view.GetProperty("nextBestActions").EnumerateArray(), n => n.GetProperty("offerId").GetString() == "investment-plus");

        using var bad = await crm.Http.PostAsJsonAsync(Url($"/api/v1/customers/{id}/offers/investment-plus/outcome"), new { outcome = "maybe" });
        using var declined = await crm.Http.PostAsJsonAsync(Url($"/api/v1/customers/{id}/offers/investment-plus/outcome"), new { outcome = "declined", channel = "phone" });
        var nba = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}/next-best-actions"));

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.True((await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("outcome", out _));
        Assert.Equal(HttpStatusCode.OK, declined.StatusCode);
        Assert.DoesNotContain(nba.EnumerateArray(), n => n.GetProperty("offerId").GetString() == "investment-plus");
    }
}
