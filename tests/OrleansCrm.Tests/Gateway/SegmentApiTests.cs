using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>A CRM process of its own, so previews see exactly the customers these tests create.</summary>
[CollectionDefinition(Name)]
public sealed class SegmentCrmCollection : ICollectionFixture<EmbeddedCrmFixture>
{
    public const string Name = "Segment CRM process";
}

/// <summary>Segments as a campaign manager and an analyst use them through the gateway.</summary>
[Collection(SegmentCrmCollection.Name)]
public sealed class SegmentApiTests(EmbeddedCrmFixture crm)
{
    private static readonly string[] Regions = ["north", "south", "east"];

    private Uri Url(string path) => new(crm.Gateway, path);

    private async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var request = new HttpRequestMessage(method, Url(path));
        if (body is not null)
        {
            request.Content = new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        using var response = await crm.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{method} {path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Customers tagged with the run: the i-th has region Regions[i % 3], prefers e-mail when i % 4 = 0 (else the
    /// phone) and, for even i, bought for 10 × i.</summary>
    private async Task<string[]> CreateCustomersAsync(string run, int count)
    {
        var ids = Enumerable.Range(0, count).Select(i => $"{run}-{i:00}").ToArray();
        for (var i = 0; i < count; i++)
        {
            await SendAsync(HttpMethod.Put, $"/api/v1/customers/{ids[i]}", new { firstName = "F" + i, region = Regions[i % 3], preferredChannel = i % 4 == 0 ? "email" : "phone", tags = new[] { run }, email = $"{ids[i]}@example.com" });
            if (i % 2 == 0)
            {
                await SendAsync(HttpMethod.Post, $"/api/v1/customers/{ids[i]}/events", new
                {
                    eventId = "buy",
                    type = "purchase",
                    occurredAt = DateTimeOffset.UtcNow.AddDays(-2),
                    channel = i % 4 == 0 ? "web" : "branch",
                    data = new { amount = 10 * i },
                });
            }
        }

        return ids;
    }

    private async Task<HashSet<string>> MembersAsync(string segmentId)
    {
        var members = new HashSet<string>(StringComparer.Ordinal);
        string? after = null;
        do
        {
            var page = await SendAsync(HttpMethod.Get, $"/api/v1/segments/{segmentId}/members?limit=7" + (after is null ? "" : "&after=" + Uri.EscapeDataString(after)), null);
            members.UnionWith(page.GetProperty("members").EnumerateArray().Select(m => m.GetString()!));
            after = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetString();
        }
        while (after is not null);
        return members;
    }

    private async Task WaitBackfilledAsync(string segmentId) =>
        await Poll.UntilAsync(
            async () => (await SendAsync(HttpMethod.Get, $"/api/v1/segments/{segmentId}", null)).GetProperty("backfill").GetProperty("finished").GetBoolean(),
            TimeSpan.FromSeconds(60),
            $"backfill of {segmentId}");

    [Fact]
    public async Task A_preview_counts_the_matching_customers_before_saving_and_saves_nothing()
    {
        var run = "pv" + Guid.NewGuid().ToString("N")[..6];
        var ids = await CreateCustomersAsync(run, 30);
        var expression = $"""tags contains "{run}" and purchaseTotal >= 50""";
        var expected = ids.Where((_, i) => i % 2 == 0 && 10 * i >= 50).ToHashSet();

        var preview = await SendAsync(HttpMethod.Post, "/api/v1/segments/preview", new { expression, sampleSize = 10_000 });
        var segments = await SendAsync(HttpMethod.Get, "/api/v1/segments/", null);

        Assert.True(preview.GetProperty("exact").GetBoolean());
        Assert.Equal(expected.Count, preview.GetProperty("matched").GetInt32());
        Assert.Equal(expected.Count, preview.GetProperty("estimatedMembers").GetInt64());
        Assert.Subset(expected, preview.GetProperty("sampleMembers").EnumerateArray().Select(m => m.GetString()!).ToHashSet());
        Assert.DoesNotContain(run, segments.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_definition_is_refused_with_the_position_of_the_error_and_nothing_is_saved()
    {
        var id = "bad" + Guid.NewGuid().ToString("N")[..6];
        var body = new { name = "Bad", expression = """churnRisk >= 0.7 and region in ("north", )""" };

        var put = await SendAsync(HttpMethod.Put, $"/api/v1/segments/{id}", body, HttpStatusCode.BadRequest);
        var preview = await SendAsync(HttpMethod.Post, "/api/v1/segments/preview", new { expression = "purchaseCount >> 3" }, HttpStatusCode.BadRequest);
        await SendAsync(HttpMethod.Get, $"/api/v1/segments/{id}", null, HttpStatusCode.NotFound);

        Assert.Equal(41, put.GetProperty("position").GetInt32());
        Assert.Contains("expected", put.GetProperty("errors").GetProperty("expression")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(15, preview.GetProperty("position").GetInt32());
    }

    [Fact]
    public async Task A_static_segment_holds_exactly_the_listed_customers_and_a_new_list_replaces_it()
    {
        var run = "st" + Guid.NewGuid().ToString("N")[..6];
        var ids = await CreateCustomersAsync(run, 8);

        var first = await SendAsync(HttpMethod.Put, $"/api/v1/segments/{run}", new { name = "Call list", customerIds = new[] { ids[0], ids[1], ids[2], ids[3], ids[4], run + "-ghost", ids[1] } });
        var firstMembers = await MembersAsync(run);
        await SendAsync(HttpMethod.Put, $"/api/v1/segments/{run}", new { name = "Call list", customerIds = ids[3..8] });
        var secondMembers = await MembersAsync(run);
        var status = await SendAsync(HttpMethod.Get, $"/api/v1/segments/{run}", null);
        var dropped = await SendAsync(HttpMethod.Get, $"/api/v1/customers/{ids[0]}", null);
        var kept = await SendAsync(HttpMethod.Get, $"/api/v1/customers/{ids[4]}", null);

        Assert.Equal(1, first.GetProperty("unknownCustomers").GetInt32());
        Assert.Equal(run + "-ghost", first.GetProperty("unknownCustomerIds")[0].GetString());
        Assert.True(ids[..5].ToHashSet().SetEquals(firstMembers));
        Assert.True(ids[3..8].ToHashSet().SetEquals(secondMembers));
        Assert.Equal(5, status.GetProperty("members").GetInt64());
        Assert.DoesNotContain(run, dropped.GetProperty("segments").EnumerateArray().Select(s => s.GetString()));
        Assert.Contains(run, kept.GetProperty("segments").EnumerateArray().Select(s => s.GetString()));
    }

    [Fact]
    public async Task Statistics_and_the_csv_export_describe_exactly_the_members()
    {
        var run = "sx" + Guid.NewGuid().ToString("N")[..6];
        var ids = await CreateCustomersAsync(run, 24);
        await SendAsync(HttpMethod.Put, $"/api/v1/segments/{run}", new { name = "Buyers", expression = $"""tags contains "{run}" and purchaseCount >= 1""" });
        await WaitBackfilledAsync(run);
        var buyers = Enumerable.Range(0, ids.Length).Where(i => i % 2 == 0).ToList();

        var stats = await SendAsync(HttpMethod.Get, $"/api/v1/segments/{run}/statistics?sample=5000", null);
        using var export = await crm.Http.GetAsync(Url($"/api/v1/segments/{run}/export?profile=true"));
        var lines = (await export.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        Assert.Equal(buyers.Count, stats.GetProperty("members").GetInt64());
        Assert.Equal(buyers.Count, stats.GetProperty("sampled").GetInt32());
        Assert.Equal(buyers.Count, stats.GetProperty("sizeOverTime").EnumerateArray().Last().GetProperty("members").GetInt64());
        Assert.Equal(Math.Round(buyers.Average(i => 10m * i), 2), stats.GetProperty("arpuYearly").GetDecimal());
        foreach (var region in Regions)
        {
            var want = buyers.Count(i => Regions[i % 3] == region);
            Assert.Equal(want, stats.GetProperty("byRegion").TryGetProperty(region, out var n) ? n.GetInt64() : 0);
        }

        Assert.Equal(buyers.Count(i => i % 4 == 0), stats.GetProperty("byPreferredChannel").GetProperty("email").GetInt64());
        Assert.Equal(buyers.Count(i => i % 4 != 0), stats.GetProperty("byPreferredChannel").GetProperty("phone").GetInt64());
        Assert.True(stats.GetProperty("meanScores").TryGetProperty("churnRisk", out _));
        Assert.Equal("text/csv; charset=utf-8", export.Content.Headers.ContentType!.ToString());
        Assert.Equal("customerId,memberSince,firstName,lastName,email,phone,region", lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.True(buyers.Select(i => ids[i]).ToHashSet().SetEquals(rows.Select(r => r[0])));
        Assert.All(rows, r => Assert.Equal($"{r[0]}@example.com", r[4]));
        Assert.All(rows, r => Assert.True(DateTimeOffset.TryParse(r[1], CultureInfo.InvariantCulture, out _)));
    }
}
