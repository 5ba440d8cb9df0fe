using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using HdrHistogram;
using Microsoft.Data.Sqlite;
using Npgsql;
using Orleans.Runtime;
using OrleansCrm.Customers;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Bench;

/// <summary>
/// <c>--scenario customer</c> (the first load generator, kept for comparison with its earlier results): seeds N
/// customers with five events each by grain calls, then runs the view, next-best-action and ingest for S seconds with
/// C closed-loop callers, by direct grain calls and through the HTTP gateway, and a crude SQL reading of the CRM's
/// own event log. The suite (<c>--scenario suite</c>) supersedes it with a realistic population and a real baseline.
/// </summary>
public static class CustomerBench
{
    public static async Task<int> RunAsync(BenchOptions options)
    {
        await using var node = await BenchNode.StartAsync(options.Postgres, options.Concurrency);
        var (storage, settings, grains, http) = (node.Storage, node.Settings, node.Grains, node.Http);
        Console.Error.WriteLine($"Seeding {options.Customers} customers on {storage.Kind}...");
        var seed = Stopwatch.StartNew();
        await Parallel.ForAsync(0, options.Customers, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            var id = CustomerId(i);
            await grains.GetCustomer(id).RecordEventsAsync(SeedEvents(id, i), createIfMissing: true);
        });
        Console.Error.WriteLine($"Seeded in {seed.Elapsed.TotalSeconds:0.0} s");

        await BenchOffers.SeedAsync(node);
        var results = new List<Result>();
        var memory = await MeasureMemoryAsync(grains, options.Customers);
        results.Add(await RunAsync("view: direct grain call", options, async (rnd, _) =>
            await grains.GetCustomer(CustomerId(rnd.Next(options.Customers))).GetViewAsync()));
        results.Add(await RunAsync("view: HTTP gateway", options, async (rnd, _) =>
        {
            using var response = await http.GetAsync(new Uri($"/api/v1/customers/{CustomerId(rnd.Next(options.Customers))}", UriKind.Relative));
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsByteArrayAsync();
        }));
        results.Add(await RunAsync("view: SQL baseline (aggregate the customer's rows)", options, SqlBaseline(storage, settings.ServiceId, options.Customers)));
        results.Add(await RunAsync("next-best-action: direct grain call", options, async (rnd, _) =>
            await grains.GetCustomer(CustomerId(rnd.Next(options.Customers))).GetNextBestActionsAsync()));
        results.Add(await RunAsync("next-best-action: HTTP gateway", options, async (rnd, _) =>
        {
            using var response = await http.GetAsync(new Uri($"/api/v1/customers/{CustomerId(rnd.Next(options.Customers))}/next-best-actions", UriKind.Relative));
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsByteArrayAsync();
        }));
        results.Add(await RunAsync("ingest: direct grain call", options, async (rnd, n) =>
        {
            var id = CustomerId(rnd.Next(options.Customers));
            await grains.GetCustomer(id).RecordEventsAsync([Purchase($"bench-g-{n}", rnd)], createIfMissing: false);
        }));
        results.Add(await RunAsync("ingest: HTTP gateway", options, async (rnd, n) =>
        {
            var id = CustomerId(rnd.Next(options.Customers));
            var e = Purchase($"bench-h-{n}", rnd);
            using var response = await http.PostAsJsonAsync(new Uri($"/api/v1/customers/{id}/events", UriKind.Relative),
                new { e.EventId, e.Type, e.OccurredAt, e.Channel, data = new { amount = e.Data.Amount } });
            response.EnsureSuccessStatusCode();
        }));

        var report = Report(options, storage.Kind, memory, results);
        Console.WriteLine(report);
        await Results.WriteAsync($"customer-{storage.Kind.ToString().ToLowerInvariant()}-{Results.Stamp(DateTimeOffset.UtcNow)}", report);

        return 0;
    }

    private static string CustomerId(int i) => "b" + i.ToString("D7", CultureInfo.InvariantCulture);

    private static CustomerEvent[] SeedEvents(string id, int i)
    {
        var now = DateTimeOffset.UtcNow;
        return
        [
            new("p", CustomerEventTypes.ProfileChanged, now.AddDays(-400), "bench", null,
                new EventData(Profile: new CustomerProfile("First" + i, "Last" + i, $"{id}@example.com", Region: (i % 4).ToString(CultureInfo.InvariantCulture)))),
            new("b1", CustomerEventTypes.Purchase, now.AddDays(-(i % 300) - 1), "bench", "web", new EventData(Amount: 10 + (i % 90))),
            new("b2", CustomerEventTypes.Purchase, now.AddDays(-(i % 30) - 1), "bench", "branch", new EventData(Amount: 5 + (i % 40))),
            new("c1", CustomerEventTypes.CallInbound, now.AddDays(-(i % 10) - 1), "bench", "phone", new EventData(Agent: "agent-" + (i % 50), Outcome: "answered")),
            new("m1", CustomerEventTypes.ConsentChanged, now.AddDays(-200), "bench", "email", new EventData(Purpose: "marketing", Granted: i % 3 != 0)),
        ];
    }

    private static CustomerEvent Purchase(string id, Random rnd) =>
        new(id, CustomerEventTypes.Purchase, DateTimeOffset.UtcNow.AddMinutes(-rnd.Next(10_000)), "bench", "web", new EventData(Amount: rnd.Next(1, 500)));

    /// <summary>What a relational CRM does for the same screen: aggregate the customer's rows on every read.</summary>
    private static Func<Random, long, Task> SqlBaseline(StorageSettings storage, string serviceId, int customers) => async (rnd, _) =>
    {
        var id = CustomerId(rnd.Next(customers));
        await using var connection = storage.Kind == StorageKind.Postgres
            ? (System.Data.Common.DbConnection)new NpgsqlConnection(storage.ConnectionString)
            : new SqliteConnection(storage.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT count(*), sum(CASE WHEN type = 'purchase' THEN amount END), max(occurred_at),
                   (SELECT data FROM crm_customer_events p WHERE p.service_id = e.service_id AND p.customer_id = e.customer_id AND p.type = 'profile.changed' ORDER BY occurred_at DESC LIMIT 1)
            FROM crm_customer_events e WHERE service_id = @service AND customer_id = @id GROUP BY service_id, customer_id
            """;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "id";
        parameter.Value = id;
        command.Parameters.Add(parameter);
        var service = command.CreateParameter();
        service.ParameterName = "service";
        service.Value = serviceId;
        command.Parameters.Add(service);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
        }
    };

    private static async Task<double> MeasureMemoryAsync(IClusterClient grains, int customers)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        await management.ForceActivationCollection(TimeSpan.Zero);
        var before = Heap();
        await Parallel.ForAsync(0, customers, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
            await grains.GetCustomer(CustomerId(i)).GetViewAsync());
        var after = Heap();
        return (after - before) / (double)customers;
    }

    private static long Heap()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task<Result> RunAsync(string name, BenchOptions options, Func<Random, long, Task> call)
    {
        Console.Error.WriteLine($"Running {name}...");
        var warmUntil = Stopwatch.StartNew();
        var histogram = new LongHistogram(TimeSpan.FromMinutes(1).Ticks, 3);
        var errors = 0L;
        var counter = 0L;
        var measuring = false;
        var clock = new Stopwatch();
        var workers = Enumerable.Range(0, options.Concurrency).Select(w => Task.Run(async () =>
        {
            var rnd = new Random(w * 7919 + name.Length);
            var local = new LongHistogram(TimeSpan.FromMinutes(1).Ticks, 3);
            var deadline = TimeSpan.FromSeconds(options.Seconds + 2);
            while (warmUntil.Elapsed < deadline)
            {
                var n = Interlocked.Increment(ref counter);
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await call(rnd, n);
                }
                catch (Exception e) when (e is HttpRequestException or TimeoutException or OrleansException)
                {
                    Interlocked.Increment(ref errors);
                }

                if (Volatile.Read(ref measuring))
                {
                    local.RecordValue(Stopwatch.GetElapsedTime(start).Ticks);
                }
            }

            return local;
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(2));
        Volatile.Write(ref measuring, true);
        clock.Start();
        foreach (var local in await Task.WhenAll(workers))
        {
            histogram.Add(local);
        }

        clock.Stop();
        double Ms(double percentile) => histogram.GetValueAtPercentile(percentile) / (double)TimeSpan.TicksPerMillisecond;
        return new Result(name, histogram.TotalCount / clock.Elapsed.TotalSeconds, Ms(50), Ms(99), Ms(99.9), errors);
    }

    private static string Report(BenchOptions options, StorageKind storage, double bytesPerCustomer, List<Result> results)
    {
        var sb = new StringBuilder();
        var machine = BenchNode.Machine;
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Customer view and event ingest — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Machine: {machine}. Storage: {storage}. One silo + gateway in one process; {options.Customers} customers seeded with 5 events each; {options.Concurrency} concurrent callers; {options.Seconds} s per scenario after 2 s warm-up.");
        sb.AppendLine();
        sb.AppendLine("| scenario | throughput (ops/s) | p50 (ms) | p99 (ms) | p99.9 (ms) | errors |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | {r.Throughput:0} | {r.P50:0.000} | {r.P99:0.000} | {r.P999:0.000} | {r.Errors} |");
        }

        var direct = results.First(r => r.Name.StartsWith("view: direct", StringComparison.Ordinal));
        var sql = results.First(r => r.Name.StartsWith("view: SQL", StringComparison.Ordinal));
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Customer view from grain memory vs the SQL baseline on the same database: {direct.Throughput / sql.Throughput:0.0}× the throughput, p50 {sql.P50 / direct.P50:0.0}× lower.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Managed heap per activated customer (5 events, view-ready state): {bytesPerCustomer / 1024:0.0} KiB.");
        return sb.ToString();
    }

    private sealed record Result(string Name, double Throughput, double P50, double P99, double P999, long Errors);
}
