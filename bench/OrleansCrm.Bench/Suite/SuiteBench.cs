using System.Diagnostics;
using HdrHistogram;
using Npgsql;
using Orleans.Runtime;
using OrleansCrm.Bench.Baseline;
using OrleansCrm.Bench.Load;
using OrleansCrm.Bench.Population;
using OrleansCrm.Customers;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Bench.Suite;

/// <summary>
/// <c>--scenario suite</c>: one population seeded into the CRM's event log and into the baseline's tables (COPY both),
/// every CRM customer woken once, a sample cross-checked between the two, then the customer view, next-best-action
/// and event ingest measured closed-loop (direct and over HTTP), and the view and ingest searched open-loop for
/// each system's highest rate within a p99 target and run side by side at an equal rate. Writes
/// bench/results/suite-postgres-&lt;date&gt;.md and .json; with <c>--with-segments-campaign</c> also runs the segment
/// backfill and campaign launch scenarios (each on a database of its own) into the same files.
/// </summary>
public static class SuiteBench
{
    private const int WakeConcurrency = 64;
    private const int DirectIngestCallers = 64;
    private const int CrossCheckSample = 200;

    /// <summary>PostgreSQL connections each system may open: the same for both, and well inside the server's limit,
    /// which other clients of the same server share.</summary>
    private const int ConnectionsPerSystem = 64;

    /// <summary>Equal-load runs: this many rounds of one step per system, alternating.</summary>
    private const int EqualLoadRounds = 2;

    public static async Task<int> RunAsync(BenchOptions options)
    {
        if (options.Postgres is null)
        {
            throw new InvalidOperationException("the suite seeds with PostgreSQL COPY and its baseline is PostgreSQL: pass --postgres");
        }

        var figures = await RunCustomerScenariosAsync(options);
        var name = $"suite-postgres-{Results.Stamp(figures.StartedAt)}";
        await Results.WriteAsync(name, SuiteReport.Markdown(figures), figures);
        if (options.WithSegmentsCampaign)
        {
            figures = await WithSegmentsAndCampaignAsync(options, figures);
            await Results.WriteAsync(name, SuiteReport.Markdown(figures), figures);
        }

        return 0;
    }

    private static async Task<SuiteFigures> RunCustomerScenariosAsync(BenchOptions options)
    {
        var started = DateTimeOffset.UtcNow;
        var population = new SyntheticPopulation(options.Seed, started);
        var n = options.Customers;
        Console.Error.WriteLine($"Suite: {n:N0} customers, seed {options.Seed}");
        await using var node = await BenchNode.StartAsync(options.Postgres, options.Concurrency, keepActive: true, maxPoolSize: ConnectionsPerSystem);
        var database = await SegmentBench.ServerSettingsAsync(node);

        Console.Error.WriteLine("Seeding the CRM's event log (COPY)...");
        var stats = new PopulationStats();
        var clock = Stopwatch.StartNew();
        await LogSeeder.SeedAsync(node.Storage.ConnectionString, node.ServiceId, n, i =>
        {
            var customer = population.Customer(i);
            stats.Add(customer);
            return (customer.Id, customer.Events);
        });
        var crmCopy = clock.Elapsed;
        Console.Error.WriteLine($"  {stats.Events:N0} events in {crmCopy.TotalSeconds:0.0} s");
        Console.Error.WriteLine("Seeding the baseline's tables (COPY, then keys and indexes)...");
        var loaded = await BaselineSchema.SeedAsync(node.Storage.ConnectionString, population, n);
        Console.Error.WriteLine($"  {loaded.Contacts:N0} contacts, {loaded.Transactions:N0} transactions in {loaded.CopyTime.TotalSeconds:0.0} s + indexes {loaded.IndexTime.TotalSeconds:0.0} s");
        await BenchOffers.SeedAsync(node);

        await using var baseline = await BaselineServer.StartAsync(node.Storage.ConnectionString, options.BaselineUrl, ConnectionsPerSystem);
        using var crmHttp = Workloads.Client(BenchNode.GatewayUrl, BenchNode.BenchAdminKey);
        using var baselineHttp = Workloads.Client(options.BaselineUrl, null);
        var work = new Workloads(n, node.Grains, crmHttp, baseline.Store, baselineHttp);

        var warmUp = await WakeAllAsync(node, n);
        warmUp = warmUp with { SettleSeconds = await SettleAsync(node) };
        var crossCheck = await CrossCheckAsync(node, baseline.Store, n);
        Console.Error.WriteLine($"Cross-check: {crossCheck.Agreeing} of {crossCheck.Sampled} sampled customers agree");

        var warm = TimeSpan.FromSeconds(options.WarmUpSeconds);
        var run = TimeSpan.FromSeconds(options.Seconds);
        var step = TimeSpan.FromSeconds(options.StepSeconds);
        var c = options.Concurrency;
        var rows = new List<ClosedLoopRow>();
        async Task<ClosedLoopResult> ClosedAsync(string system, string scenario, string path, Func<Task> call, int? callers = null)
        {
            var result = await ClosedLoop.RunAsync($"{scenario}: {system}, {path}", callers ?? c, warm, run, (_, _) => call());
            rows.Add(new ClosedLoopRow(system, scenario, path, result));
            Console.Error.WriteLine($"    {result.Throughput:0}/s p50 {result.Latency.P50:0.000} p99 {result.Latency.P99:0.000} ms, {result.Errors} errors");
            return result;
        }

        var searches = new List<SearchRow>();
        var equal = new List<EqualLoadRow>();
        var ratios = new List<RatioRow>();

        // The two systems' searches take turns step by step, and the equal-load runs alternate, so a busy spell of
        // the machine falls on both rather than on whichever happened to be running.
        async Task CompareAsync(string scenario, double p99, ClosedLoopResult crmClosed, Func<Task> crmCall, ClosedLoopResult baselineClosed, Func<Task> baselineCall)
        {
            Console.Error.WriteLine($"{scenario}: throughput at p99 ≤ {p99} ms, open loop (both systems in turn)...");
            // Each search starts at a quarter of what its closed loop reached, so the doubling phase is short.
            var crm = new RateSearch($"{scenario}: CRM, HTTP", crmClosed.Throughput / 4, p99, options.Resolution, options.Retries);
            var rel = new RateSearch($"{scenario}: baseline, HTTP", baselineClosed.Throughput / 4, p99, options.Resolution, options.Retries);
            await RateSearch.RunInTurnsAsync([(crm, _ => crmCall()), (rel, _ => baselineCall())], warm, step);
            searches.Add(new SearchRow("CRM", scenario, crm.Result));
            searches.Add(new SearchRow("baseline", scenario, rel.Result));

            var rate = Math.Round(options.EqualLoadShare * Math.Min(crm.Result.MaxRate, rel.Result.MaxRate));
            EqualLoadRow? same = null;
            if (rate > 0)
            {
                Console.Error.WriteLine($"{scenario}: both at {rate:0}/s ({EqualLoadRounds} rounds each, in turn)...");
                var crmRounds = new List<OpenLoopStep>();
                var relRounds = new List<OpenLoopStep>();
                for (var round = 0; round < EqualLoadRounds; round++)
                {
                    crmRounds.Add(await OpenLoop.RunAsync(rate, warm, step, p99, _ => crmCall()));
                    await Task.Delay(500);
                    relRounds.Add(await OpenLoop.RunAsync(rate, warm, step, p99, _ => baselineCall()));
                    await Task.Delay(500);
                }

                var crmStep = OpenLoop.Combine(crmRounds, p99);
                var relStep = OpenLoop.Combine(relRounds, p99);
                same = new EqualLoadRow(scenario, rate, crmStep, relStep, crmStep.Latency.P99 / relStep.Latency.P99);
                equal.Add(same);
                Console.Error.WriteLine($"  CRM p99 {crmStep.Latency.P99:0.00} ms, baseline p99 {relStep.Latency.P99:0.00} ms");
            }

            ratios.Add(new RatioRow(scenario, p99, crm.Result.MaxRate, rel.Result.MaxRate,
                rel.Result.MaxRate > 0 ? crm.Result.MaxRate / rel.Result.MaxRate : double.PositiveInfinity,
                same?.Rate, same?.Crm.Latency.P99, same?.Baseline.Latency.P99, same?.P99Ratio));
        }

        // --writes-only: the write path's figures alone (ingest, and with --with-segments-campaign backfill and launch),
        // for quick runs while the write path changes; the full report needs the view too.
        if (!options.WritesOnly)
        {
        Console.Error.WriteLine("View and next-best-action, closed loop...");
        var ceiling = await ClosedAsync("CRM", "authenticated ceiling", "HTTP, /api/v1/auth/me", work.CrmCeilingHttpAsync);
        await ClosedAsync("CRM", "view", "direct grain call", work.CrmViewDirectAsync);
        var crmView = await ClosedAsync("CRM", "view", "HTTP", work.CrmViewHttpAsync);
        await ClosedAsync("baseline", "view", "direct SQL", work.BaselineViewDirectAsync);
        var baselineView = await ClosedAsync("baseline", "view", "HTTP", work.BaselineViewHttpAsync);
        await ClosedAsync("CRM", "next-best-action", "direct grain call", work.CrmNextBestActionDirectAsync);
        var crmNba = await ClosedAsync("CRM", "next-best-action", "HTTP", work.CrmNextBestActionHttpAsync);

        await CompareAsync("view", options.ViewP99Ms, crmView, work.CrmViewHttpAsync, baselineView, work.BaselineViewHttpAsync);
        Console.Error.WriteLine("next-best-action: CRM only (the baseline has no equivalent)...");
        var nba = new RateSearch("next-best-action: CRM, HTTP", crmNba.Throughput / 4, options.ViewP99Ms, options.Resolution, options.Retries);
        await RateSearch.RunInTurnsAsync([(nba, _ => work.CrmNextBestActionHttpAsync())], warm, step);
        searches.Add(new SearchRow("CRM", "next-best-action", nba.Result));
        Console.Error.WriteLine("authenticated ceiling: CRM only...");
        var top = new RateSearch("authenticated ceiling: CRM, HTTP", ceiling.Throughput / 4, options.ViewP99Ms, options.Resolution, options.Retries);
        await RateSearch.RunInTurnsAsync([(top, _ => work.CrmCeilingHttpAsync())], warm, step);
        searches.Add(new SearchRow("CRM", "authenticated ceiling", top.Result));
        }

        Console.Error.WriteLine("Ingest, closed loop...");
        await ClosedAsync("CRM", "ingest", "direct grain call", work.CrmIngestDirectAsync);

        // The write path's own figure: enough callers to fill group commits (one event per call). Around it, the WAL
        // PostgreSQL wrote per event, snapshots written after the loop included (they lag by up to 5 s).
        var crmWal = await WalPerEventAsync(node, work, () => ClosedAsync("CRM", "ingest", $"direct grain call, {DirectIngestCallers} callers", work.CrmIngestDirectAsync, DirectIngestCallers));
        var crmIngest = await ClosedAsync("CRM", "ingest", "HTTP", work.CrmIngestHttpAsync);
        await ClosedAsync("CRM", "ingest", "HTTP, the view in each answer", work.CrmIngestHttpWithViewAsync);
        var baselineWal = await WalPerEventAsync(node, work, () => ClosedAsync("baseline", "ingest", "direct SQL", work.BaselineIngestDirectAsync));
        Console.Error.WriteLine($"  WAL per event: CRM {crmWal.BytesPerEvent:0} bytes, baseline {baselineWal.BytesPerEvent:0} bytes");
        var baselineIngest = await ClosedAsync("baseline", "ingest", "HTTP", work.BaselineIngestHttpAsync);
        await CompareAsync("ingest", options.IngestP99Ms, crmIngest, work.CrmIngestHttpAsync, baselineIngest, work.BaselineIngestHttpAsync);

        warmUp = warmUp with { HeapBytesPerCustomerAtEnd = (Heap() - warmUp.HeapBeforeBytes) / (double)n };
        return new SuiteFigures(
            "suite", started, DateTimeOffset.UtcNow, BenchNode.Machine, database, options,
            stats.Figures(options.Seed, n, loaded),
            new SeedingFigures(crmCopy.TotalSeconds, loaded.CopyTime.TotalSeconds, loaded.IndexTime.TotalSeconds),
            warmUp, crossCheck, rows, searches, equal, ratios)
        {
            Wal = new WalFigures(crmWal.BytesPerEvent, baselineWal.BytesPerEvent, crmWal.Events, baselineWal.Events),
        };
    }

    /// <summary>WAL bytes PostgreSQL wrote while <paramref name="run"/> ran (and 6 s after, for lagging snapshots),
    /// divided by the purchases sent meanwhile.</summary>
    private static async Task<(double BytesPerEvent, long Events)> WalPerEventAsync(BenchNode node, Workloads work, Func<Task<ClosedLoopResult>> run)
    {
        await using var connection = new NpgsqlConnection(node.Storage.ConnectionString);
        await connection.OpenAsync();
        async Task<string> LsnAsync()
        {
            await using var command = new NpgsqlCommand("SELECT pg_current_wal_lsn()::text", connection);
            return (string)(await command.ExecuteScalarAsync())!;
        }

        var before = await LsnAsync();
        var sentBefore = work.EventsSent;
        await run();
        await Task.Delay(TimeSpan.FromSeconds(6));
        var events = work.EventsSent - sentBefore;
        await using var diff = new NpgsqlCommand($"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{before}'::pg_lsn)::bigint", connection);
        var bytes = (long)(await diff.ExecuteScalarAsync())!;
        return (events > 0 ? bytes / (double)events : 0, events);
    }

    private static async Task<SuiteFigures> WithSegmentsAndCampaignAsync(BenchOptions options, SuiteFigures figures)
    {
        Console.Error.WriteLine("Segment backfill (a database of its own)...");
        SegmentReport segments;
        await using (var node = await BenchNode.StartAsync(options.Postgres, options.Concurrency))
        {
            segments = await SegmentBench.RunAsync(node, options.Customers, options.Samples, options.Concurrency);
        }

        Console.Error.WriteLine("Campaign launch (a database of its own)...");
        CampaignReport campaign;
        await using (var node = await BenchNode.StartAsync(options.Postgres, options.Concurrency))
        {
            campaign = await CampaignBench.RunAsync(node, options.Customers);
        }

        return figures with
        {
            FinishedAt = DateTimeOffset.UtcNow,
            Segments = segments.Figures,
            SegmentsMarkdown = segments.Markdown,
            Campaign = campaign.Figures,
            CampaignMarkdown = campaign.Markdown,
        };
    }

    /// <summary>Wakes every customer once (direct grain calls, <see cref="WakeConcurrency"/> at a time) and records
    /// how long each first wake took.</summary>
    private static async Task<WarmUpFigures> WakeAllAsync(BenchNode node, int customers)
    {
        Console.Error.WriteLine($"Waking all {customers:N0} customers (each rebuilds from its log)...");
        var before = Heap();
        var histogram = Latency.NewHistogram();
        var done = 0;
        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        await Parallel.ForAsync(0, customers, new ParallelOptions { MaxDegreeOfParallelism = WakeConcurrency }, async (i, cancel) =>
        {
            var start = Stopwatch.GetTimestamp();
            _ = await node.Grains.GetCustomer(SyntheticPopulation.CustomerId(i)).GetViewAsync()
                ?? throw new InvalidOperationException($"customer {i} did not build from its log");
            Latency.Record(histogram, start, Stopwatch.GetTimestamp());
            if (Interlocked.Increment(ref done) % 10_000 == 0 && clock.Elapsed - lastReport > TimeSpan.FromSeconds(30))
            {
                lastReport = clock.Elapsed;
                Console.Error.WriteLine($"  {done:N0} after {clock.Elapsed.TotalSeconds:0} s");
            }
        });
        clock.Stop();
        var perCustomer = (Heap() - before) / (double)customers;
        Console.Error.WriteLine($"  woken in {clock.Elapsed.TotalSeconds:0.0} s ({customers / clock.Elapsed.TotalSeconds:0}/s)");
        return new WarmUpFigures(customers, WakeConcurrency, clock.Elapsed.TotalSeconds, customers / clock.Elapsed.TotalSeconds, Latency.From(histogram), perCustomer, before);
    }

    /// <summary>Before measuring: VACUUM ANALYZE of the whole database, as after any bulk load, so autovacuum does not
    /// start on the freshly written tables mid-measurement. Answers the time.</summary>
    private static async Task<double> SettleAsync(BenchNode node)
    {
        Console.Error.WriteLine("VACUUM ANALYZE...");
        var clock = Stopwatch.StartNew();
        await using var connection = new NpgsqlConnection(node.Storage.ConnectionString);
        await connection.OpenAsync();
        await using var vacuum = new NpgsqlCommand("VACUUM ANALYZE", connection) { CommandTimeout = 0 };
        await vacuum.ExecuteNonQueryAsync();
        Console.Error.WriteLine($"  settled in {clock.Elapsed.TotalSeconds:0} s");
        return clock.Elapsed.TotalSeconds;
    }

    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>Compares what the two systems answer for the same customers, so a fast but different baseline (or a
    /// seed that went wrong on one side) shows.</summary>
    private static async Task<CrossCheckFigures> CrossCheckAsync(BenchNode node, BaselineStore store, int customers)
    {
        var differences = new List<string>();
        var sample = Enumerable.Range(0, Math.Min(CrossCheckSample, customers)).Select(k => (int)((k * 2654435761L) % customers)).Distinct().ToArray();
        var agreeing = 0;
        foreach (var i in sample)
        {
            var id = SyntheticPopulation.CustomerId(i);
            var crm = await node.Grains.GetCustomer(id).GetViewAsync();
            var rel = await store.GetViewAsync(id);
            var found = crm is null || rel is null ? [$"{id}: missing on {(crm is null ? "CRM" : "baseline")}"] : Compare(id, crm, rel);
            agreeing += found.Count == 0 ? 1 : 0;
            differences.AddRange(found.Take(Math.Max(0, 10 - differences.Count)));
        }

        return new CrossCheckFigures(sample.Length, agreeing, differences);
    }

    private static List<string> Compare(string id, CustomerView crm, BaselineView rel)
    {
        var found = new List<string>();
        void Check<T>(string field, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b))
            {
                found.Add($"{id} {field}: CRM {a}, baseline {b}");
            }
        }

        string Join(IEnumerable<string> items) => string.Join(",", items);
        var t = crm.Transactions;
        var r = rel.Transactions;
        Check("firstName", crm.FirstName, rel.FirstName);
        Check("lastName", crm.LastName, rel.LastName);
        Check("emails", Join(crm.Emails), Join(rel.Emails));
        Check("phones", Join(crm.Phones), Join(rel.Phones));
        Check("region", crm.Region, rel.Region);
        Check("preferredChannel", crm.PreferredChannel, rel.PreferredChannel);
        Check("address", crm.Address?.Line1 + "|" + crm.Address?.City, rel.Address.Line1 + "|" + rel.Address.City);
        Check("consents", Join(crm.Consents.Where(x => x.Purpose == "marketing").OrderBy(x => x.Channel, StringComparer.Ordinal).Select(x => $"{x.Channel}={x.Granted}")),
            Join(rel.Consents.OrderBy(x => x.Channel, StringComparer.Ordinal).Select(x => $"{x.Channel}={x.Granted}")));
        Check("purchaseCount", t.PurchaseCount, r.PurchaseCount);
        Check("purchaseTotal", t.PurchaseTotal, r.PurchaseTotal);
        Check("firstPurchaseAt", t.FirstPurchaseAt, r.FirstPurchaseAt);
        Check("lastPurchaseAt", t.LastPurchaseAt, r.LastPurchaseAt);
        Check("spend30Days", t.Spend30Days, r.Spend30Days);
        Check("spend90Days", t.Spend90Days, r.Spend90Days);
        Check("spend365Days", t.Spend365Days, r.Spend365Days);
        Check("deposits", (t.DepositCount, t.DepositTotal, t.LastDepositAt), (r.DepositCount, r.DepositTotal, r.LastDepositAt));
        Check("withdrawals", (t.WithdrawalCount, t.WithdrawalTotal, t.LastWithdrawalAt), (r.WithdrawalCount, r.WithdrawalTotal, r.LastWithdrawalAt));
        Check("recentContacts", Join(crm.RecentContacts.Select(x => $"{x.EventId}/{x.Direction}/{x.Channel}")), Join(rel.RecentContacts.Select(x => $"{x.EventId}/{x.Direction}/{x.Channel}")));
        return found;
    }

    /// <summary>Counts of the population, gathered while it is written to the log.</summary>
    private sealed class PopulationStats
    {
        private readonly LongHistogram _perCustomer = new(1, 100_000, 3);
        private readonly Dictionary<string, int> _surnames = new(StringComparer.Ordinal);

        public long Events { get; private set; }

        private long _heavy;

        public void Add(SyntheticCustomer customer)
        {
            Events += customer.Events.Length;
            _perCustomer.RecordValue(customer.Events.Length);
            _heavy += customer.Events.Length >= 30 ? 1 : 0;
            var surname = customer.Events[0].Data.Profile?.LastName ?? "";
            _surnames[surname] = _surnames.GetValueOrDefault(surname) + 1;
        }

        public PopulationFigures Figures(int seed, int customers, BaselineSchema.Loaded loaded) => new(
            seed, customers, Events, Events / (double)customers,
            _perCustomer.GetValueAtPercentile(50), _perCustomer.GetValueAtPercentile(90), _perCustomer.GetValueAtPercentile(99), _perCustomer.GetMaxValue(),
            _heavy / (double)customers, _surnames.Count, _surnames.Values.Max(), loaded.Contacts, loaded.Transactions);
    }
}
