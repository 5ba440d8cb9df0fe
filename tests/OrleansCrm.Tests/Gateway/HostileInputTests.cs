using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>Inputs an outside probe used to get 5xx answers: each is refused with a problem naming the field, or
/// accepted as the text it is, and nothing of a refused request is stored.</summary>
[Collection(EmbeddedCrmCollection.Name)]
public sealed class HostileInputTests(EmbeddedCrmFixture crm)
{
    private Uri Url(string path) => new(crm.Gateway, path);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Braces_in_names_and_an_email_are_stored_and_found_like_any_other_text()
    {
        var id = "brace-" + Guid.NewGuid().ToString("N")[..8];
        var email = $"{id}.{{x}}@example.com";

        using var put = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { firstName = "Ana {0}", lastName = "}{", email });

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}"));
        Assert.Equal("Ana {0}", view.GetProperty("firstName").GetString());
        var found = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/lookup?email={Uri.EscapeDataString(email)}"));
        Assert.Contains(id, found.GetProperty("customerIds").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task A_segment_export_writes_values_a_spreadsheet_would_run_as_formulas_as_text()
    {
        var run = "csvf" + Guid.NewGuid().ToString("N")[..6];
        using (var put = await crm.Http.PutCustomerAsync(crm.Gateway, $"{run}-1", new { firstName = "=HYPERLINK(\"http://evil.example\",\"x\")", lastName = "+1-2", region = "@SUM(A1)", tags = new[] { run } }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        using (var segment = await crm.Http.PutAsJsonAsync(Url($"/api/v1/segments/{run}"), new { name = run, expression = $"tags contains \"{run}\"" }))
        {
            Assert.True(segment.IsSuccessStatusCode);
        }

        await Poll.UntilAsync(async () => (await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/segments/{run}"))).GetProperty("members").GetInt64() == 1, TimeSpan.FromSeconds(60), "the member");
        var csv = await crm.Http.GetStringAsync(Url($"/api/v1/segments/{run}/export?profile=true"));
        var row = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1];
        Assert.Contains("'=HYPERLINK", row, StringComparison.Ordinal);
        Assert.Contains("'+1-2", row, StringComparison.Ordinal);
        Assert.Contains("'@SUM(A1)", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_import_leaves_no_job_and_its_id_can_be_used_again()
    {
        var importId = "refused-" + Guid.NewGuid().ToString("N")[..8];
        var line = $$"""{"customerId":"{{importId}}-c","eventId":"e1","type":"web.visit","occurredAt":"{{DateTimeOffset.UtcNow.AddMinutes(-1):O}}","channel":"web"}""" + "\n";
        using (var refused = await crm.Http.PostAsync(Url($"/api/v1/imports/events?type=purchase&importId={importId}&createCustomers=true"), new StringContent(line, Encoding.UTF8, "application/x-ndjson")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await crm.Http.GetAsync(Url($"/api/v1/imports/{importId}"))).StatusCode);
        using var again = await crm.Http.PostAsync(Url($"/api/v1/imports/events?importId={importId}&createCustomers=true"), new StringContent(line, Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Theory]
    [InlineData("cn/bei jing")]
    [InlineData("cn/<script>")]
    [InlineData("cn/../shanghai")]
    public async Task An_org_unit_that_is_not_a_path_is_refused_naming_the_field(string unit)
    {
        var id = "badunit-" + Guid.NewGuid().ToString("N")[..8];
        using var put = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { firstName = "Ann", orgUnit = unit });
        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.True((await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("orgUnit", out _));
        Assert.Equal(HttpStatusCode.NotFound, (await crm.Http.GetAsync(Url($"/api/v1/customers/{id}"))).StatusCode);
    }

    [Theory]
    [InlineData("aaaaaaaaaaaaaaaa")]
    [InlineData("pat.weak-and-more")]
    public async Task A_weak_password_is_refused(string password)
    {
        using var put = await crm.Http.PostAsJsonAsync(Url("/api/v1/users"), new { login = "pat.weak", password, roles = new[] { "agent" }, orgUnit = "" });
        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.True((await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("password", out _));
    }

    [Theory]
    [InlineData("firstName", """{"firstName":"A\ud800"}""")]
    [InlineData("lastName", """{"lastName":"\udc00B"}""")]
    [InlineData("region", """{"region":"north\u0000"}""")]
    public async Task A_profile_with_text_that_is_not_text_is_refused_naming_the_field_and_stores_nothing(string field, string body)
    {
        var id = "nottext-" + Guid.NewGuid().ToString("N")[..8];

        using var put = await crm.Http.PutAsync(Url($"/api/v1/customers/{id}"), Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Contains(field, await put.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var get = await crm.Http.GetAsync(Url($"/api/v1/customers/{id}"));
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task An_event_whose_note_holds_a_nul_is_refused_naming_the_field()
    {
        var id = "nulnote-" + Guid.NewGuid().ToString("N")[..8];
        using var put = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { firstName = "Nul" });
        var when = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O");

        using var post = await crm.Http.PostAsync(Url($"/api/v1/customers/{id}/events"),
            Json($$"""{"eventId":"n1","type":"call.inbound","occurredAt":"{{when}}","data":{"note":"a\u0000b"} }"""));

        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        Assert.Contains("data.note", await post.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}"));
        Assert.Equal(1, view.GetProperty("eventCount").GetInt32());
    }

    [Fact]
    public async Task An_ndjson_import_line_with_half_a_surrogate_pair_is_rejected_and_the_other_lines_imported()
    {
        var id = "surr-" + Guid.NewGuid().ToString("N")[..8];
        var when = DateTimeOffset.UtcNow.AddDays(-1).ToString("O");
        var ndjson = string.Join('\n',
            $$"""{"customerId":"{{id}}","eventId":"d1","type":"deposit","occurredAt":"{{when}}","data":{"amount":10} }""",
            $$"""{"customerId":"{{id}}","eventId":"d2","type":"deposit","occurredAt":"{{when}}","data":{"amount":20,"note":"\ud800"} }""",
            $$"""{"customerId":"{{id}}","eventId":"d3","type":"deposit","occurredAt":"{{when}}","data":{"amount":30} }""");

        using var content = new StringContent(ndjson, Encoding.UTF8, "application/x-ndjson");
        using var response = await crm.Http.PostAsync(Url("/api/v1/imports/events?createCustomers=true"), content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((3, 2, 1), (result.GetProperty("rowsRead").GetInt32(), result.GetProperty("rowsImported").GetInt32(), result.GetProperty("rowsRejected").GetInt32()));
        Assert.Equal(2, result.GetProperty("rejects")[0].GetProperty("line").GetInt32());
        var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}"));
        Assert.Equal(40m, view.GetProperty("transactions").GetProperty("depositTotal").GetDecimal());
    }
}
