using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>An agent finds a customer by the name the caller gives, through the gateway.</summary>
[Collection(EmbeddedCrmCollection.Name)]
public sealed class NameLookupTests(EmbeddedCrmFixture crm)
{
    private Uri Url(string path) => new(crm.Gateway, path);

    private async Task<string[]> FindAsync(string name)
    {
        var found = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/lookup?name={Uri.EscapeDataString(name)}"));
        return [.. found.GetProperty("customerIds").EnumerateArray().Select(e => e.GetString()!)];
    }

    [Fact]
    public async Task A_chinese_name_is_found_written_family_name_first_with_or_without_a_space_or_given_name_first()
    {
        // A family name no other test uses: a rare character and a random given name.
        var given = new string([.. Guid.NewGuid().ToByteArray().Take(2).Select(b => (char)(0x4E00 + (b * 37 % 0x5000)))]);
        var id = "zh-" + Guid.NewGuid().ToString("N")[..10];
        using var put = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { firstName = given, lastName = "龚" });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        Assert.Equal([id], await FindAsync($"龚{given}"));
        Assert.Equal([id], await FindAsync($"龚 {given}"));
        Assert.Equal([id], await FindAsync($"{given} 龚"));
        Assert.Contains(id, await FindAsync("龚"));
    }

    [Fact]
    public async Task Lookup_finds_customers_by_full_or_last_name_as_an_agent_types_it()
    {
        // A last name no other test uses, with an accent the agent will not type.
        var family = "Ørsted" + new string([.. Guid.NewGuid().ToString("N")[..8].Select(c => (char)('a' + (c % 26)))]);
        var zoe = "nm-" + Guid.NewGuid().ToString("N")[..10];
        var ada = "nm-" + Guid.NewGuid().ToString("N")[..10];
        using var put1 = await crm.Http.PutCustomerAsync(crm.Gateway, zoe, new { firstName = "Zoë", lastName = family });
        using var put2 = await crm.Http.PutCustomerAsync(crm.Gateway, ada, new { firstName = "Ada", lastName = family });
        var plain = "O" + family[1..];

        var byFull = await FindAsync($"  zoe   {plain.ToUpperInvariant()} ");
        var byLast = await FindAsync(plain.ToLowerInvariant());
        var nobody = await FindAsync($"Nobody {plain}");

        Assert.Equal(HttpStatusCode.OK, put1.StatusCode);
        Assert.Equal(HttpStatusCode.OK, put2.StatusCode);
        Assert.Equal([zoe], byFull);
        Assert.Equal(new[] { zoe, ada }.Order(StringComparer.Ordinal), byLast.Order(StringComparer.Ordinal));
        Assert.Empty(nobody);
    }

    [Fact]
    public async Task A_renamed_customer_is_found_by_the_new_name_and_no_longer_by_the_old()
    {
        var suffix = new string([.. Guid.NewGuid().ToString("N")[..8].Select(c => (char)('a' + (c % 26)))]);
        var id = "nm-" + Guid.NewGuid().ToString("N")[..10];
        using var before = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { firstName = "Grace", lastName = "Hopper" + suffix });
        Assert.Equal([id], await FindAsync($"grace hopper{suffix}"));

        using var after = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { lastName = "Murray" + suffix });

        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal([id], await FindAsync($"Grace Murray{suffix}"));
        Assert.Equal([id], await FindAsync($"murray{suffix}"));
        Assert.Empty(await FindAsync($"grace hopper{suffix}"));
        Assert.Empty(await FindAsync($"hopper{suffix}"));
    }

    [Fact]
    public async Task A_name_without_letters_is_a_problem_naming_the_field()
    {
        using var response = await crm.Http.GetAsync(Url("/api/v1/lookup?name=%20-%20"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("name", out _), problem.ToString());
    }
}
