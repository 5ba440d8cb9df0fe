using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>What an integrator sees calling the gateway of a running CRM.</summary>
[Collection(EmbeddedCrmCollection.Name)]
public sealed class GatewayApiTests(EmbeddedCrmFixture crm)
{
    private static string NewId() => "api-" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Health_endpoints_answer_live_and_ready_with_the_cluster_check()
    {
        using var live = await crm.Http.GetAsync(new Uri(crm.Gateway, "/health/live"));
        using var ready = await crm.Http.GetAsync(new Uri(crm.Gateway, "/health/ready"));

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("cluster").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_customer_written_through_the_gateway_is_read_back()
    {
        var id = NewId();

        using var put = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { firstName = " Ada ", lastName = "Lovelace", email = "Ada@Example.com", phone = "+44 20 7946 0000" });
        using var get = await crm.Http.GetAsync(new Uri(crm.Gateway, $"/api/v1/customers/{id}"));

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        var view = await get.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(id, view.GetProperty("customerId").GetString());
        Assert.Equal("Ada", view.GetProperty("firstName").GetString());
        Assert.Equal("ada@example.com", view.GetProperty("emails")[0].GetString());
        Assert.Equal("+442079460000", view.GetProperty("phones")[0].GetString());
        Assert.Equal(1, view.GetProperty("eventCount").GetInt64());
    }

    [Fact]
    public async Task An_unknown_customer_is_a_404_problem()
    {
        using var get = await crm.Http.GetAsync(new Uri(crm.Gateway, $"/api/v1/customers/{NewId()}"));

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal("application/problem+json", get.Content.Headers.ContentType?.MediaType);
        var problem = await get.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(404, problem.GetProperty("status").GetInt32());
        Assert.Equal("Customer not found", problem.GetProperty("title").GetString());
    }

    [Theory]
    [InlineData("""{ "email": "not-an-address" }""", "email")]
    [InlineData("""{ "phone": "call me" }""", "phone")]
    [InlineData("""{ }""", "body")]
    [InlineData("""{ "firstName": 42 }""", "firstName")]
    [InlineData("""{ "firstName": "Ada", """, "body")]
    public async Task Bad_input_is_a_400_problem_naming_the_field_and_changes_nothing(string json, string field)
    {
        var id = NewId();
        using var first = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { firstName = "Original" });

        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var put = await crm.Http.PutAsync(new Uri(crm.Gateway, $"/api/v1/customers/{id}"), content);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal("application/problem+json", put.Content.Headers.ContentType?.MediaType);
        var problem = await put.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors should name {field}: {problem}");
        var view = await crm.Http.GetFromJsonAsync<JsonElement>(new Uri(crm.Gateway, $"/api/v1/customers/{id}"));
        Assert.Equal("Original", view.GetProperty("firstName").GetString());
        Assert.Equal(1, view.GetProperty("eventCount").GetInt64());
    }

    [Fact]
    public async Task A_bad_customer_id_is_a_400_problem_naming_it()
    {
        using var put = await crm.Http.PutCustomerAsync(crm.Gateway, "bad%20id", new { firstName = "X" });

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        var problem = await put.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("customerId", out _));
    }

    [Fact]
    public async Task The_openapi_document_describes_the_customer_endpoints()
    {
        using var doc = await crm.Http.GetAsync(new Uri(crm.Gateway, "/openapi/v1.json"));

        Assert.Equal(HttpStatusCode.OK, doc.StatusCode);
        var json = await doc.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(json.GetProperty("paths").TryGetProperty("/api/v1/customers/{customerId}", out var path));
        Assert.True(path.TryGetProperty("get", out _));
        Assert.True(path.TryGetProperty("put", out _));
    }

    [Fact]
    public async Task The_openapi_document_lists_every_event_type_callers_may_record_with_its_required_fields()
    {
        var json = await crm.Http.GetFromJsonAsync<JsonElement>(new Uri(crm.Gateway, "/openapi/v1.json"));

        foreach (var path in new[] { "/api/v1/customers/{customerId}/events", "/api/v1/events" })
        {
            var description = json.GetProperty("paths").GetProperty(path).GetProperty("post").GetProperty("description").GetString()!;
            foreach (var type in OrleansCrm.Customers.CustomerEventTypes.Registered)
            {
                var line = description.Split('\n').FirstOrDefault(l => l.StartsWith($"- `{type.Name}`", StringComparison.Ordinal));
                if (!type.AcceptedFromCallers)
                {
                    Assert.Null(line);
                    continue;
                }

                Assert.NotNull(line);
                Assert.EndsWith(type.Description, line, StringComparison.Ordinal);
                Assert.All(type.Requires, f => Assert.Contains($"`{f.Path}`", line, StringComparison.Ordinal));
            }
        }

        Assert.Contains("- `consent.changed` (requires `channel`, `data.purpose`, `data.granted`)",
            json.GetProperty("paths").GetProperty("/api/v1/events").GetProperty("post").GetProperty("description").GetString(), StringComparison.Ordinal);
    }
}
