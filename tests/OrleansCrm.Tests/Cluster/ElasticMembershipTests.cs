using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>
/// Silos join and leave a PostgreSQL cluster of processes while customer reads and event ingest run through the
/// gateway process: what an operator scaling the cluster, or losing a machine, would check (docs/operations.md).
/// </summary>
public sealed class ElasticMembershipTests(ITestOutputHelper output)
{
    private const int Customers = 300;
    private const int Workers = 6;
    private const int Active = 3;
    private const int Dead = 6;

    /// <summary>
    /// How long after a silo is killed every customer must answer again. Measured on a 2-core machine: 3-5 s
    /// (docs/operations.md). The bound leaves room for a slow, loaded machine, where probe timeouts stretch up to four
    /// times silo.probeTimeoutSeconds: three missed probes of 8 s, plus the vote and the reactivation. It stays below
    /// <see cref="RetryPolicy.GiveUpAfter"/>, so a client following the policy sees no failure.
    /// </summary>
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_silo_added_and_another_stopped_under_load_lose_no_acknowledged_write_and_fail_no_request()
    {
        var load = await UnderLoadAsync(silos: 2, "em", async (http, cluster, load, _) =>
        {
            await load.RunForAsync(300, TimeSpan.FromMinutes(1), "before the new silo starts");
            var added = cluster.StartSilo("silo3");
            await cluster.WaitActiveSilosAsync(3);
            await DashboardShowsActiveAsync(http, cluster, added);
            await load.RunForAsync(300, TimeSpan.FromMinutes(1), "with the new silo active");

            // The silo that hosts more customers leaves, so the stop moves at least half of them.
            var hosted = await CustomersPerSiloAsync(http, cluster, atLeastInAll: Customers);
            var leaving = cluster.Silos.Take(2).MaxBy(s => hosted.GetValueOrDefault(s))!;
            var staying = cluster.Silos.Take(2).Single(s => s != leaving);
            var stopping = Stopwatch.StartNew();
            Assert.Equal(0, await leaving.StopAsync(TimeSpan.FromSeconds(60)));
            output.WriteLine($"{leaving.Name}, hosting {hosted.GetValueOrDefault(leaving)} customers, stopped gracefully in {stopping.Elapsed.TotalSeconds:0.0} s");
            Assert.Equal(Dead, await cluster.MembershipStatusAsync(leaving));

            await load.RunForAsync(600, TimeSpan.FromMinutes(2), "after the stop");
            Assert.Equal(Active, await cluster.MembershipStatusAsync(staying));
            Assert.Equal(Active, await cluster.MembershipStatusAsync(added));

            // Where the leaving silo's customers went is Orleans' placement's choice (it weighs each silo's load), so
            // it is reported, not asserted: existing activations stay put when a silo joins and move when one leaves.
            hosted = await CustomersPerSiloAsync(http, cluster, atLeastInAll: 0);
            output.WriteLine($"customers now on {staying.Name}: {hosted.GetValueOrDefault(staying)}, on {added.Name}: {hosted.GetValueOrDefault(added)}");
        });

        Assert.True(load.Acknowledged > 300, load.Summary());
    }

    [Fact]
    public async Task A_killed_silo_under_load_leaves_every_customer_served_again_with_its_acknowledged_state_within_the_bound()
    {
        await UnderLoadAsync(silos: 3, "ek", async (http, cluster, load, ids) =>
        {
            await load.RunForAsync(300, TimeSpan.FromMinutes(1), "before the kill");

            // The silo that hosts the most customers crashes, so at least a third of them must move.
            var hosted = await CustomersPerSiloAsync(http, cluster, atLeastInAll: Customers);
            var victim = cluster.Silos.MaxBy(s => hosted.GetValueOrDefault(s))!;
            var sinceKill = Stopwatch.StartNew();
            await victim.KillAsync();
            var declaredDead = WhenDeclaredDeadAsync(cluster, victim, sinceKill);
            var served = await EveryCustomerServedAsync(http, cluster.Http, load, ids, sinceKill, RecoveryBound);
            output.WriteLine($"{victim.Name}, hosting {hosted.GetValueOrDefault(victim)} customers, killed: declared dead after {(await declaredDead).TotalSeconds:0.0} s; every customer served after {served.Max()?.TotalSeconds:0.0} s");
            Assert.True(served.All(t => t is not null), $"{served.Count(t => t is null)} of {ids.Count} customers not served within {RecoveryBound.TotalSeconds} s of the kill");
            await load.RunForAsync(300, TimeSpan.FromMinutes(2), "after the kill");

            // Nobody else was declared dead by mistake while the cluster was busy recovering.
            foreach (var survivor in cluster.Silos.Where(s => s != victim))
            {
                Assert.Equal(Active, await cluster.MembershipStatusAsync(survivor));
            }
        });
    }

    /// <summary>
    /// Starts a cluster of <paramref name="silos"/> silo processes and a gateway on a private database, seeds the
    /// customers, runs <paramref name="scenario"/> while the load runs, then stops the load and asserts what every
    /// membership change must leave: no request given up under the retry policy, no unexpected answer or stale
    /// read, and every acknowledged purchase in the cluster exactly once and nothing unacknowledged.
    /// </summary>
    private async Task<CustomerLoad> UnderLoadAsync(int silos, string clusterPrefix, Func<HttpClient, ProcessCluster, CustomerLoad, IReadOnlyList<string>, Task> scenario)
    {
        await using var pg = TestPostgres.Reserve();
        using var http = TestAuth.AdminClient(TimeSpan.FromMinutes(1));
        await using var cluster = await ProcessCluster.StartAsync(pg, http, silos, clusterPrefix);
        var ids = await SeedAsync(http, cluster);

        var load = CustomerLoad.Start(http, cluster.Http, ids, Workers);
        try
        {
            await scenario(http, cluster, load, ids);
        }
        catch
        {
            output.WriteLine(cluster.LogTails(80));
            throw;
        }
        finally
        {
            await load.StopAsync();
            output.WriteLine(load.Summary());
        }

        Assert.Equal(0, load.Policy.GaveUp);
        Assert.Empty(load.Problems);
        Assert.Empty(await load.CompareWithClusterAsync());
        return load;
    }

    /// <summary>Reads every customer until it answers with every purchase acknowledged before the read was sent;
    /// returns, per customer, when that first happened after the kill, or null if not within <paramref name="bound"/>.</summary>
    private static async Task<TimeSpan?[]> EveryCustomerServedAsync(HttpClient http, Uri gateway, CustomerLoad load, IReadOnlyList<string> ids, Stopwatch sinceKill, TimeSpan bound)
    {
        using var slots = new SemaphoreSlim(4);
        return await Task.WhenAll(ids.Select(async id =>
        {
            while (sinceKill.Elapsed < bound)
            {
                await slots.WaitAsync();
                try
                {
                    var acknowledged = load.AcknowledgedCount(id);
                    using var cts = new CancellationTokenSource(bound - sinceKill.Elapsed);
                    using var response = await http.GetAsync(new Uri(gateway, $"/api/v1/customers/{id}"), cts.Token);
                    if (response.StatusCode == HttpStatusCode.OK
                        && (await response.Content.ReadFromJsonAsync<JsonElement>(cts.Token)).GetProperty("transactions").GetProperty("purchaseCount").GetInt64() >= acknowledged)
                    {
                        return sinceKill.Elapsed;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                {
                }
                finally
                {
                    slots.Release();
                }

                await Task.Delay(100);
            }

            return (TimeSpan?)null;
        }));
    }

    private static async Task<TimeSpan> WhenDeclaredDeadAsync(ProcessCluster cluster, CrmProcess silo, Stopwatch since)
    {
        await Poll.UntilAsync(async () => await cluster.MembershipStatusAsync(silo) == Dead, TimeSpan.FromMinutes(2), "the killed silo to be declared dead");
        return since.Elapsed;
    }

    private static async Task<string[]> SeedAsync(HttpClient http, ProcessCluster cluster)
    {
        var ids = Enumerable.Range(0, Customers).Select(i => $"{cluster.ClusterId}-c{i:000}").ToArray();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (id, _) =>
        {
            using var put = await http.PutCustomerAsync(cluster.Http, id, new { firstName = "F" + id });
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        });
        return ids;
    }

    /// <summary>Customer activations per silo as the dashboard shows them, once it shows at least
    /// <paramref name="atLeastInAll"/> (its figures are sampled every few seconds).</summary>
    private static async Task<Dictionary<CrmProcess, long>> CustomersPerSiloAsync(HttpClient http, ProcessCluster cluster, int atLeastInAll)
    {
        var perSilo = new Dictionary<CrmProcess, long>();
        await Poll.UntilAsync(
            async () =>
            {
                var counters = await http.GetFromJsonAsync<JsonElement>(new Uri(cluster.Http, "/dashboard/DashboardCounters"));
                perSilo = counters.GetProperty("simpleGrainStats").EnumerateArray()
                    .Where(g => g.GetProperty("grainType").GetString() == "OrleansCrm.Customers.CustomerGrain")
                    .GroupBy(g => SiloAt(cluster, g.GetProperty("siloAddress").GetString()!))
                    .Where(g => g.Key is not null)
                    .ToDictionary(g => g.Key!, g => g.Sum(s => s.GetProperty("activationCount").GetInt64()));
                return perSilo.Values.Sum() >= atLeastInAll;
            },
            TimeSpan.FromSeconds(60),
            $"the dashboard to show {atLeastInAll} customers active");
        return perSilo;
    }

    /// <summary>Waits until the gateway's dashboard lists <paramref name="silo"/> as an active host.</summary>
    private static async Task DashboardShowsActiveAsync(HttpClient http, ProcessCluster cluster, CrmProcess silo) => await Poll.UntilAsync(
        async () => (await http.GetFromJsonAsync<JsonElement>(new Uri(cluster.Http, "/dashboard/DashboardCounters"))).GetProperty("hosts").EnumerateArray()
            .Any(h => SiloAt(cluster, h.GetProperty("siloAddress").GetString()!) == silo && h.GetProperty("status").GetString() == "Active"),
        TimeSpan.FromSeconds(60),
        $"the dashboard to show {silo.Name} active");

    /// <summary>The silo process an Orleans silo address ("127.0.0.1:PORT@GENERATION") names.</summary>
    private static CrmProcess? SiloAt(ProcessCluster cluster, string address)
    {
        var port = int.Parse(address[(address.IndexOf(':', StringComparison.Ordinal) + 1)..address.IndexOf('@', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
        return cluster.Silos.SingleOrDefault(s => cluster.SiloPort(s) == port);
    }
}
