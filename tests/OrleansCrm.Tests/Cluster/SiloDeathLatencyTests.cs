using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using OrleansCrm.Customers;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>
/// A silo's death must stall only the customers it hosted. Before the fix, every request of every customer paused for
/// about 11 s after a kill, because records every answer waited on went through one grain on the dead silo.
/// </summary>
public sealed class SiloDeathLatencyTests(ITestOutputHelper output)
{
    private const int Customers = 90;
    private const int Workers = 6;

    /// <summary>Longer than any answer of a healthy 2-core cluster under this load, far shorter than a silo's death
    /// takes to be noticed (seconds): a request that waited on the dead silo cannot stay under it.</summary>
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(1.5);

    [Fact]
    public async Task Customers_on_the_surviving_silos_keep_answering_at_their_usual_speed_while_another_silo_dies()
    {
        await using var pg = TestPostgres.Reserve();
        using var http = TestAuth.AdminClient(TimeSpan.FromMinutes(1));
        await using var cluster = await ProcessCluster.StartAsync(pg, http, silos: 3, "sdl");
        try
        {
            var ids = Enumerable.Range(0, Customers).Select(i => $"{cluster.ClusterId}-{i}").ToArray();
            await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (id, _) =>
            {
                using var put = await http.PutCustomerAsync(cluster.Http, id, new { firstName = "F" + id });
                Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            });

            // Where each customer lives, asked of the cluster itself.
            using var observer = await cluster.ConnectClientAsync();
            var grains = observer.Services.GetRequiredService<IGrainFactory>();
            var management = grains.GetGrain<IManagementGrain>(0);
            var port = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var id in ids)
            {
                port[id] = (await management.GetActivationAddress(grains.GetCustomer(id)))!.Endpoint.Port;
            }

            var victim = cluster.Silos.MaxBy(s => port.Values.Count(p => p == cluster.SiloPort(s)))!;
            var survivors = ids.Where(id => port[id] != cluster.SiloPort(victim)).ToArray();
            Assert.NotEmpty(survivors);

            var load = new SurvivorLoad(http, cluster.Http, survivors);
            var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(() => load.WorkAsync(w))).ToArray();
            await Task.Delay(TimeSpan.FromSeconds(12)); // the load's own time: the usual speed is measured over it
            var killedAt = load.Elapsed;
            await victim.KillAsync();
            await Poll.UntilAsync(async () => await cluster.MembershipStatusAsync(victim) == 6, TimeSpan.FromMinutes(2), "the killed silo to be declared dead");
            await Task.Delay(TimeSpan.FromSeconds(8)); // and after: reactivations of the dead silo's customers
            load.Stop();
            await Task.WhenAll(workers);

            var before = load.Samples.Where(s => s.At > TimeSpan.FromSeconds(4) && s.At < killedAt).ToList();
            var after = load.Samples.Where(s => s.At >= killedAt).ToList();
            output.WriteLine($"{victim.Name} hosted {ids.Length - survivors.Length} of {ids.Length} customers; killed at {killedAt.TotalSeconds:0.0} s, load stopped at {load.Elapsed.TotalSeconds:0.0} s");
            output.WriteLine($"before the kill: {before.Count} answers, p99 {P99(before):0} ms, slowest {Slowest(before):0} ms");
            output.WriteLine($"from the kill on: {after.Count} answers, p99 {P99(after):0} ms, slowest {Slowest(after):0} ms");
            foreach (var kind in after.GroupBy(s => s.Kind))
            {
                output.WriteLine($"  {kind.Key}: {kind.Count()} answers, p99 {P99([.. kind]):0} ms, slowest {Slowest([.. kind]):0} ms");
            }

            // A request the gateway had sent through the killed silo at that moment was on the dead machine: it may
            // wait out the call timeout and fail (Orleans does not break a client's calls in flight through a gateway
            // that dies), and until the gateway's client has seen that connection drop it may send one more through it
            // (on a loaded CI machine that took 1.4 s once: six stalls of 1.7–2.4 s, one per worker, sent 0.4–1.4 s after
            // the kill). Each worker has one request in flight; nothing sent after the grace may fail or stall.
            var grace = killedAt + TimeSpan.FromSeconds(2);
            Assert.False(load.Failures.Any(f => f.At >= grace), string.Join("; ", load.Failures.Select(f => f.What)));
            Assert.True(load.Failures.Count <= Workers, string.Join("; ", load.Failures.Select(f => f.What)));
            Assert.True(after.Count > 300, $"only {after.Count} answers after the kill");
            var stalled = after.Where(s => s.Took > Stall).ToList();
            Assert.True(!stalled.Any(s => s.At >= grace) && stalled.Count <= Workers,
                $"{stalled.Count} answers for customers on surviving silos took over {Stall.TotalSeconds} s after the kill: " +
                string.Join(", ", stalled.Take(10).Select(s => $"{s.Kind} sent at {s.At.TotalSeconds:0.0} s took {s.Took.TotalMilliseconds:0} ms")));
            // The p99 bound has a floor of 1 s: a loaded CI machine (the cluster's reactivations, other suites beside it)
            // reached 516 ms against 94 ms before once; the pause this test exists for was 11 s for every request.
            // The stalls allowed above (requests in flight through the dying silo, at most one per worker) are left out of
            // the p99: with six workers and ~600 answers, six of them are exactly the p99 sample.
            var usual = after.Except(stalled).ToList();
            Assert.True(P99(usual) <= Math.Max(3 * P99(before), 1000), $"p99 {P99(usual):0} ms after the kill (the {stalled.Count} allowed in-flight stalls left out) against {P99(before):0} ms before");
        }
        catch
        {
            output.WriteLine(cluster.LogTails(60));
            throw;
        }
    }

    private static double P99(List<Sample> samples) => samples.Count == 0 ? 0 : samples.Select(s => s.Took.TotalMilliseconds).Order().ElementAt((int)Math.Ceiling(samples.Count * 0.99) - 1);

    private static double Slowest(List<Sample> samples) => samples.Count == 0 ? 0 : samples.Max(s => s.Took.TotalMilliseconds);

    private sealed record Sample(string Kind, TimeSpan At, TimeSpan Took);

    /// <summary>Workers that each, in turn, read a survivor's view, record an event for one, and present a wrong key
    /// (a refusal, answered only once its audit record is stored): the three ways an answer waits on the cluster.</summary>
    private sealed class SurvivorLoad(HttpClient http, Uri gateway, IReadOnlyList<string> ids)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private volatile bool _stopping;

        public ConcurrentBag<Sample> Samples { get; } = [];

        public ConcurrentQueue<(TimeSpan At, string What)> Failures { get; } = new();

        public TimeSpan Elapsed => _clock.Elapsed;

        public void Stop() => _stopping = true;

        public async Task WorkAsync(int worker)
        {
            var random = new Random(worker);
            using var stranger = new HttpClient { Timeout = TimeSpan.FromMinutes(1) };
            stranger.DefaultRequestHeaders.Add("X-Api-Key", "not-a-key-of-this-cluster-0123456789abcdef");
            for (var n = 0; !_stopping; n++)
            {
                var id = ids[random.Next(ids.Count)];
                var kind = (n % 3) switch { 0 => "view", 1 => "event", _ => "refusal" };
                using var request = kind switch
                {
                    "view" => new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, $"/api/v1/customers/{id}")),
                    "event" => new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, $"/api/v1/customers/{id}/events"))
                    {
                        Content = new StringContent($$"""{ "eventId": "w{{worker}}-{{n}}", "type": "web.visit", "occurredAt": "{{DateTimeOffset.UtcNow:O}}", "channel": "web" }""", Encoding.UTF8, "application/json"),
                    },
                    _ => new HttpRequestMessage(HttpMethod.Get, new Uri(gateway, $"/api/v1/customers/{id}")),
                };
                var started = _clock.Elapsed;
                try
                {
                    using var response = await (kind == "refusal" ? stranger : http).SendAsync(request);
                    var took = _clock.Elapsed - started;
                    var expected = kind == "refusal" ? HttpStatusCode.Unauthorized : HttpStatusCode.OK;
                    if (response.StatusCode != expected)
                    {
                        Failures.Enqueue((started, $"{kind} of {id} sent at {started.TotalSeconds:0.0} s: {(int)response.StatusCode} after {took.TotalMilliseconds:0} ms"));
                    }

                    Samples.Add(new Sample(kind, started, took));
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Failures.Enqueue((started, $"{kind} of {id} sent at {started.TotalSeconds:0.0} s: {e.GetType().Name} {e.Message}"));
                }
            }
        }
    }
}
