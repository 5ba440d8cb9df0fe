using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using OrleansCrm.Tests.Support;
using Xunit.Abstractions;

namespace OrleansCrm.Tests.Cluster;

/// <summary>
/// The database goes away for 10 s under event ingest and comes back: what an operator must be able to rely on when
/// PostgreSQL restarts or the network between the silos and it breaks.
/// </summary>
public sealed class DatabaseOutageTests(ITestOutputHelper output)
{
    private const int Customers = 40;
    private const int Workers = 4;
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    /// <summary>The gateway's call timeout in the test configuration (gateway.callTimeoutSeconds) plus room for a busy
    /// machine: no answer may take longer, whatever the database does.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5 + 3);

    [Fact]
    public async Task Requests_answer_503_in_time_while_the_database_is_away_nothing_acknowledged_is_lost_and_the_silo_recovers_by_itself()
    {
        await using var pg = TestPostgres.Reserve();
        var target = new NpgsqlConnectionStringBuilder(pg.ConnectionString);
        await using var proxy = new TcpProxy(target.Host!, target.Port);
        var throughProxy = new NpgsqlConnectionStringBuilder(pg.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port }.ConnectionString;
        using var http = TestAuth.AdminClient(TimeSpan.FromSeconds(30));
        await using var cluster = await ProcessCluster.StartAsync(pg, http, silos: 1, "db",
            (_, config) => config["storage"]!["connectionString"] = throughProxy);
        var ids = Enumerable.Range(0, Customers).Select(i => $"{cluster.ClusterId}-c{i:00}").ToArray();
        foreach (var id in ids)
        {
            using var put = await http.PutCustomerAsync(cluster.Http, id, new { firstName = "F" + id });
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        var acknowledged = new ConcurrentDictionary<string, ConcurrentBag<string>>();
        var answers = new ConcurrentBag<(TimeSpan At, int Status, TimeSpan Took)>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var sent = 0;
        var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var id = ids[Random.Shared.Next(ids.Length)];
                var eventId = $"w{w}-{Interlocked.Increment(ref sent)}";
                var started = clock.Elapsed;
                int status;
                try
                {
                    using var response = await http.PostAsJsonAsync(new Uri(cluster.Http, $"/api/v1/customers/{id}/events"),
                        new { eventId, type = "purchase", occurredAt = DateTimeOffset.UtcNow.AddSeconds(-1), data = new { amount = 1.0 } });
                    status = (int)response.StatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    status = 0;
                }

                answers.Add((started, status, clock.Elapsed - started));
                if (status == 200)
                {
                    acknowledged.GetOrAdd(id, _ => []).Add(eventId);
                }

                // A steady, modest load: the suite runs other clusters beside this one.
                await Task.Delay(status == 200 ? 10 : 50);
            }
        })).ToArray();

        await Poll.UntilAsync(() => Task.FromResult(answers.Count(a => a.Status == 200) >= 200), TimeSpan.FromMinutes(1), "200 events before the outage");
        var cutAt = clock.Elapsed;
        proxy.Cut();
        await Task.Delay(Outage);
        var restoringAt = clock.Elapsed;
        proxy.Restore();
        var restoredAt = clock.Elapsed;

        // The silo recovers by itself: events are acknowledged again, with nobody restarting anything.
        await Poll.UntilAsync(() => Task.FromResult(answers.Any(a => a.At > restoredAt && a.Status == 200)), TimeSpan.FromSeconds(60), "an event acknowledged after the database came back");
        var recoveredAt = answers.Where(a => a.At > restoredAt && a.Status == 200).Min(a => a.At);
        await Task.Delay(TimeSpan.FromSeconds(3));
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        // Requests sent while the database was away, a second clear of either end (one sent just before the database
        // returns may rightly be stored once it is back).
        var during = answers.Where(a => a.At > cutAt + TimeSpan.FromSeconds(1) && a.At < restoringAt - TimeSpan.FromSeconds(1)).ToList();
        output.WriteLine($"{answers.Count} requests, {answers.Count(a => a.Status == 200)} acknowledged; during the outage {during.Count}: "
            + string.Join(", ", during.GroupBy(a => a.Status).Select(g => $"{g.Key} × {g.Count()}"))
            + $", slowest {during.Select(a => a.Took.TotalSeconds).DefaultIfEmpty().Max():0.0} s; first acknowledged {(recoveredAt - restoredAt).TotalSeconds:0.0} s after the database returned");
        Assert.NotEmpty(during);
        Assert.All(during, a => Assert.True(a.Status == 503, $"an event sent {(a.At - cutAt).TotalSeconds:0.0} s into the outage was answered {a.Status}"));
        Assert.All(answers, a => Assert.True(a.Took < Deadline, $"an answer took {a.Took.TotalSeconds:0.0} s"));
        Assert.DoesNotContain(answers, a => a.Status is >= 500 and not 503);

        // Every acknowledged event is in the log once and in the customer's view; nothing else was applied twice.
        foreach (var id in ids)
        {
            var expected = acknowledged.TryGetValue(id, out var bag) ? bag.ToHashSet() : [];
            var logged = await pg.ScalarAsync<long>($"SELECT count(*) FROM crm_customer_events WHERE customer_id = '{id}' AND type = 'purchase'");
            var view = await http.GetFromJsonAsync<JsonElement>(new Uri(cluster.Http, $"/api/v1/customers/{id}"));
            var counted = view.GetProperty("transactions").GetProperty("purchaseCount").GetInt64();
            Assert.True(logged >= expected.Count, $"{id}: {expected.Count} acknowledged, {logged} in the log");
            Assert.Equal(logged, counted);
            foreach (var eventId in expected)
            {
                Assert.Equal(1, await pg.ScalarAsync<long>($"SELECT count(*) FROM crm_customer_events WHERE customer_id = '{id}' AND event_id = '{eventId}'"));
            }
        }
    }
}
