using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using Orleans.Runtime;
using OrleansCrm.Bench.Load;
using OrleansCrm.Bench.Population;
using OrleansCrm.Bench.Suite;
using OrleansCrm.Gateway.Hosting;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Bench.ScaleOut;

/// <summary>What one run against a cluster measured.</summary>
public sealed record TargetFigures(
    DateTimeOffset StartedAt,
    string Machine,
    string Database,
    string Target,
    int? SilosExpected,
    int ActiveSilos,
    int Customers,
    int Concurrency,
    double SeedSeconds,
    double WakeSeconds,
    double WakesPerSecond,
    Latency ColdWake,
    ClosedLoopResult View,
    ClosedLoopResult Ingest,
    IReadOnlyDictionary<string, long> CustomerActivationsBySilo)
{
    /// <summary>Every request succeeded and every active silo hosts customers.</summary>
    public bool Correct => View.Errors == 0 && Ingest.Errors == 0 && ColdWake.Count == Customers
        && CustomerActivationsBySilo.Count == ActiveSilos && CustomerActivationsBySilo.Values.All(v => v > 0)
        && (SilosExpected is null || SilosExpected == ActiveSilos);
}

/// <summary>
/// <c>--target http://host:port --key ADMINKEY --postgres "…;Database=…"</c>: drives a running cluster's HTTP
/// gateway. Seeds the population into the cluster's event log (COPY, unless already there), wakes every customer
/// over HTTP, then runs the view and ingest closed-loop over HTTP, and asks the cluster (as an Orleans client on the
/// same database) which silos are active and how many customers each hosts.
/// </summary>
public static class TargetBench
{
    public static async Task<int> RunAsync(BenchOptions options)
    {
        var target = options.Target ?? throw new ArgumentException("--target http://host:port is required");
        var key = options.Key ?? throw new ArgumentException("--key ADMINKEY is required (the cluster's administrator key)");
        var postgres = options.Postgres ?? throw new ArgumentException("--postgres with the cluster's database is required");
        var started = DateTimeOffset.UtcNow;
        var n = options.Customers;
        var population = new SyntheticPopulation(options.Seed, started);

        var seed = Stopwatch.StartNew();
        if (await SeededAsync(postgres, options.ServiceId))
        {
            Console.Error.WriteLine("The population is already in the cluster's log; not seeding again");
        }
        else
        {
            Console.Error.WriteLine($"Seeding {n:N0} customers into {new NpgsqlConnectionStringBuilder(postgres).Database} (COPY)...");
            await LogSeeder.SeedAsync(postgres, options.ServiceId, n, i =>
            {
                var c = population.Customer(i);
                return (c.Id, c.Events);
            });
        }

        seed.Stop();
        using var host = await ConnectAsync(options, postgres);
        var grains = host.Services.GetRequiredService<IClusterClient>();
        var management = grains.GetGrain<IManagementGrain>(0);
        using var http = Workloads.Client(target, key);
        var work = new Workloads(n, null, http, null, null);

        Console.Error.WriteLine($"Waking {n:N0} customers over HTTP...");
        var wakes = Latency.NewHistogram();
        var wake = Stopwatch.StartNew();
        await Parallel.ForAsync(0, n, new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency }, async (i, cancel) =>
        {
            var start = Stopwatch.GetTimestamp();
            using var response = await http.GetAsync(new Uri($"/api/v1/customers/{SyntheticPopulation.CustomerId(i)}", UriKind.Relative), cancel);
            response.EnsureSuccessStatusCode();
            Latency.Record(wakes, start, Stopwatch.GetTimestamp());
        });
        wake.Stop();

        var warm = TimeSpan.FromSeconds(options.WarmUpSeconds);
        var run = TimeSpan.FromSeconds(options.Seconds);
        var view = await ClosedLoop.RunAsync("view: HTTP", options.Concurrency, warm, run, (_, _) => work.CrmViewHttpAsync());
        Console.Error.WriteLine($"    {view.Throughput:0}/s p99 {view.Latency.P99:0.00} ms, {view.Errors} errors");
        var ingest = await ClosedLoop.RunAsync("ingest: HTTP", options.Concurrency, warm, run, (_, _) => work.CrmIngestHttpAsync());
        Console.Error.WriteLine($"    {ingest.Throughput:0}/s p99 {ingest.Latency.P99:0.00} ms, {ingest.Errors} errors");

        var hosts = await management.GetHosts(onlyActive: true);
        var statistics = await management.GetSimpleGrainStatistics();
        var bySilo = hosts.Keys.ToDictionary(s => s.ToString(), _ => 0L, StringComparer.Ordinal);
        foreach (var s in statistics.Where(s => s.GrainType.Contains("CustomerGrain", StringComparison.Ordinal)))
        {
            bySilo[s.SiloAddress.ToString()] = bySilo.GetValueOrDefault(s.SiloAddress.ToString()) + s.ActivationCount;
        }

        var figures = new TargetFigures(started, BenchNode.Machine, await SegmentBench.ServerSettingsAsync(postgres), target, options.Silos, hosts.Count, n, options.Concurrency, seed.Elapsed.TotalSeconds,
            wake.Elapsed.TotalSeconds, n / wake.Elapsed.TotalSeconds, Latency.From(wakes), view, ingest, bySilo);
        var json = JsonSerializer.Serialize(figures, Results.Json);
        Console.WriteLine(json);
        var output = options.Out ?? Path.Combine(Results.Folder(), $"target-{Results.Stamp(started)}.json");
        await File.WriteAllTextAsync(output, json + "\n");
        Console.Error.WriteLine($"Written to {output}; {hosts.Count} active silos, customers per silo: {string.Join(", ", bySilo.Values)}; {(figures.Correct ? "correct" : "NOT CORRECT")}");
        await host.StopAsync();
        return figures.Correct ? 0 : 1;
    }

    private static async Task<bool> SeededAsync(string postgres, string serviceId)
    {
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync();
        await using var probe = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM crm_customer_events WHERE service_id = @s AND customer_id = @c)", connection);
        probe.Parameters.AddWithValue("s", serviceId);
        probe.Parameters.AddWithValue("c", SyntheticPopulation.CustomerId(0));
        return (bool)(await probe.ExecuteScalarAsync())!;
    }

    /// <summary>An Orleans client of the cluster, found through its membership table, for the silo figures.</summary>
    private static async Task<IHost> ConnectAsync(BenchOptions options, string postgres)
    {
        var settings = new CrmSettings(
            options.ClusterId, options.ServiceId, new StorageSettings(StorageKind.Postgres, postgres),
            new SiloSettings("127.0.0.1", 0, 0, false, false),
            new GatewaySettings(options.Target!, TimeSpan.FromSeconds(30), Dashboard: false),
            new LogSettings(Serilog.Events.LogEventLevel.Warning, Serilog.Events.LogEventLevel.Warning, false), "");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddCrmClient(settings);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }
}
