using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>
/// Segment membership on a PostgreSQL cluster of separate silo processes: a silo is killed (SIGKILL) in the middle of
/// the membership traffic and another started, and membership still equals a brute-force evaluation exactly.
/// </summary>
public sealed class SegmentSiloFailureTests
{
    private static readonly string[] Regions = ["north", "south", "east", "west"];

    [Fact]
    public async Task Membership_equals_a_brute_force_evaluation_after_a_silo_is_killed_mid_traffic()
    {
        await using var pg = TestPostgres.Reserve();
        using var http = TestAuth.AdminClient(TimeSpan.FromSeconds(20));
        await using var cluster = await ProcessCluster.StartAsync(pg, http, silos: 2, "sk");
        var clusterId = cluster.ClusterId;
        var api = cluster.Http;

        // Retries a call until it succeeds, as an integrator must: a call cut off by the crash has an unknown outcome,
        // and the same event id makes the retry safe.
        async Task SendAsync(Func<Task<HttpResponseMessage>> call, string what) => await Poll.UntilAsync(
            async () =>
            {
                using var response = await call();
                return response.IsSuccessStatusCode
                    ? true
                    : response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound
                        ? throw new InvalidOperationException($"{what}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}")
                        : false;
            },
            TimeSpan.FromSeconds(120),
            what);

        var customers = Enumerable.Range(0, 240).Select(i => $"{clusterId}-{i:000}").ToArray();
        await Parallel.ForEachAsync(customers, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, _) =>
            await SendAsync(() => http.PutCustomerAsync(api, id, new { region = Regions[Math.Abs(id.GetHashCode(StringComparison.Ordinal)) % 4], tags = new[] { clusterId } }), $"create {id}"));

        var segments = new (string Id, string Expression, Func<JsonElement, bool> Matches)[]
        {
            ($"north-{clusterId}", $"""region = "north" and purchaseCount >= 3 and tags contains "{clusterId}" """,
                v => v.GetProperty("region").GetString() == "north" && v.GetProperty("transactions").GetProperty("purchaseCount").GetInt64() >= 3),
            ($"vip-{clusterId}", $"""(tags contains "vip" or purchaseTotal > 750) and tags contains "{clusterId}" """,
                v => v.GetProperty("tags").EnumerateArray().Any(t => t.GetString() == "vip") || v.GetProperty("transactions").GetProperty("purchaseTotal").GetDecimal() > 750),
            ($"saver-{clusterId}", $"""not (region in ("south", "east")) and depositTotal > 250 and tags contains "{clusterId}" """,
                v => v.GetProperty("region").GetString() is not ("south" or "east") && v.GetProperty("transactions").GetProperty("depositTotal").GetDecimal() > 250),
        };
        foreach (var (id, expression, _) in segments)
        {
            await SendAsync(() => http.PutAsJsonAsync(new Uri(api, $"/api/v1/segments/{id}"), new { name = id, expression }), $"define {id}");
        }

        var random = new Random(20261124);
        var events = Enumerable.Range(0, 6000).Select(n =>
        {
            var kind = random.Next(10);
            var (type, data) = kind switch
            {
                < 5 => ("purchase", (object)new { amount = random.Next(1, 120) }),
                < 7 => ("deposit", new { amount = random.Next(1, 80) }),
                < 9 => ("profile.changed", new { profile = new { region = Regions[random.Next(4)] } }),
                _ when random.Next(25) == 0 => ("profile.changed", new { profile = new { tags = new[] { "vip" } } }),
                _ => ("web.visit", new { }),
            };
            return (Customer: customers[random.Next(customers.Length)], Body: new { eventId = $"e{n}", type, occurredAt = DateTimeOffset.UtcNow.AddDays(-random.Next(1, 300)), data });
        }).ToList();

        var acknowledged = 0;
        var killAt = events.Count / 3;
        var killed = new TaskCompletionSource();
        var silo1 = cluster.Silos[0];
        var traffic = Parallel.ForEachAsync(events.GroupBy(e => e.Customer), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (group, _) =>
        {
            foreach (var (customer, body) in group)
            {
                await SendAsync(() => http.PostAsJsonAsync(new Uri(api, $"/api/v1/customers/{customer}/events"), body), $"event {body.eventId} of {customer}");
                if (Interlocked.Increment(ref acknowledged) == killAt)
                {
                    await silo1.KillAsync();
                    cluster.StartSilo("silo3");
                    killed.SetResult();
                }
            }
        });
        await traffic;
        await killed.Task;
        Assert.True(silo1.HasExited);

        foreach (var (id, _, _) in segments)
        {
            await Poll.UntilAsync(
                async () =>
                {
                    using var response = await http.GetAsync(new Uri(api, $"/api/v1/segments/{id}"));
                    return response.IsSuccessStatusCode && (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("backfill").GetProperty("finished").GetBoolean();
                },
                TimeSpan.FromSeconds(180),
                $"backfill of {id}");
        }

        var views = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var id in customers)
        {
            views[id] = await Poll.UntilAsync(
                async () =>
                {
                    using var response = await http.GetAsync(new Uri(api, $"/api/v1/customers/{id}"));
                    return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement?>() : null;
                },
                TimeSpan.FromSeconds(60),
                $"view of {id}") ?? default;
        }

        Assert.Equal(events.Count, views.Values.Sum(v => v.GetProperty("eventCount").GetInt64()) - customers.Length);
        foreach (var (id, _, matches) in segments)
        {
            var expected = customers.Where(c => matches(views[c])).ToHashSet(StringComparer.Ordinal);

            // Joins and leaves a crash cut off are re-sent by the customers' reminders: wait for them, then compare.
            try
            {
                await Poll.UntilAsync(async () => (await MembersAsync(http, api, id)).SetEquals(expected), TimeSpan.FromSeconds(180), $"{id} to hold exactly its customers");
            }
            catch (TimeoutException)
            {
                var actual = await MembersAsync(http, api, id);
                var logs = string.Join(Environment.NewLine, cluster.Silos.SelectMany(s => s.Output.Split('\n')).Where(l => l.Contains("egment", StringComparison.Ordinal)).Take(40));
                Assert.Fail($"{id}: missing {string.Join(", ", expected.Except(actual))}; extra {string.Join(", ", actual.Except(expected))}{Environment.NewLine}{logs}");
            }

            using var status = await http.GetAsync(new Uri(api, $"/api/v1/segments/{id}"));
            Assert.Equal(expected.Count, (await status.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("members").GetInt64());
            Assert.InRange(expected.Count, 1, customers.Length - 1);
            Assert.All(expected, c => Assert.Contains(id, views[c].GetProperty("segments").EnumerateArray().Select(s => s.GetString())));
        }
    }

    private static async Task<HashSet<string>> MembersAsync(HttpClient http, Uri api, string segmentId)
    {
        var members = new HashSet<string>(StringComparer.Ordinal);
        string? after = null;
        do
        {
            var page = await http.GetFromJsonAsync<JsonElement>(new Uri(api, $"/api/v1/segments/{segmentId}/members?limit=1000" + (after is null ? "" : "&after=" + Uri.EscapeDataString(after))));
            members.UnionWith(page.GetProperty("members").EnumerateArray().Select(m => m.GetString()!));
            after = page.GetProperty("next").ValueKind == JsonValueKind.Null ? null : page.GetProperty("next").GetString();
        }
        while (after is not null);
        return members;
    }
}
