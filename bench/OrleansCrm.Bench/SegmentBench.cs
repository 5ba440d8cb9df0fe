using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using HdrHistogram;
using Npgsql;
using OrleansCrm.Bench.Load;
using OrleansCrm.Bench.Suite;
using OrleansCrm.Customers;
using OrleansCrm.Hosting.Configuration;
using OrleansCrm.Segments;

namespace OrleansCrm.Bench;

/// <summary>
/// <c>--scenario segments</c>: N customers' histories are bulk-loaded into the event log (COPY), then
/// <list type="number">
/// <item>a first segment is defined: its backfill wakes every customer, which rebuilds its state from the log and
/// joins or not (the first-load case: history imported, then segments defined);</item>
/// <item>a second segment is defined: its backfill wakes every customer again, now from stored state (the everyday
/// case: a marketer adds or edits a segment over an existing base);</item>
/// <item>events that make customers join the second segment are sent one by one, and the time from sending each
/// until its shard lists the customer as a member is recorded (HdrHistogram).</item>
/// </list>
/// Both counts are checked against the seed formula, so a fast but wrong backfill shows.
/// </summary>
public sealed record SegmentReport(string Markdown, SegmentFigures Figures);

public static class SegmentBench
{
    private static readonly string[] Regions = ["north", "south", "east", "west"];

    public static async Task<SegmentReport> RunAsync(BenchNode node, int customers, int latencySamples, int concurrency)
    {
        if (node.Storage.Kind != StorageKind.Postgres)
        {
            throw new InvalidOperationException("the segments scenario bulk-loads with PostgreSQL COPY: pass --postgres");
        }

        Console.Error.WriteLine($"Loading {customers:N0} customers' histories into the log...");
        var load = Stopwatch.StartNew();
        await SeedAsync(node, customers);
        load.Stop();
        Console.Error.WriteLine($"Loaded in {load.Elapsed.TotalSeconds:0.0} s");

        // Purchase totals and regions follow from the index, so the exact answers are known without asking the cluster.
        var buyers = Enumerable.Range(0, customers).Count(i => Amount(i) >= 100);
        var target = Enumerable.Range(0, customers).Count(i => i % 4 <= 1 && Amount(i) >= 50);

        var first = await BackfillAsync(node, "bench-big-spenders", "purchaseTotal >= 100");
        var firstCount = await CountAsync(node, "bench-big-spenders");
        var gcAfterFirst = GC.GetTotalMemory(false);
        var second = await BackfillAsync(node, "bench-north-south", """region in ("north", "south") and purchaseTotal >= 50""");
        var secondCount = await CountAsync(node, "bench-north-south");

        // Customers in east or west who qualify on spend join when they move north.
        var movers = Enumerable.Range(0, customers).Where(i => i % 4 >= 2 && Amount(i) >= 50).OrderBy(i => (i * 2654435761L) % 1_000_003).Take(latencySamples).ToArray();
        // First move: each customer is asleep (a backfill woke it and let it go), so its state is read from storage.
        // Second move, back east: the same customers, now active, leave again.
        var cold = await MoveAsync(node, movers, "north", "bench-north-south", expectMember: true, concurrency);
        var afterMoves = await CountAsync(node, "bench-north-south");
        var warm = await MoveAsync(node, movers, "east", "bench-north-south", expectMember: false, concurrency);
        var afterReturn = await CountAsync(node, "bench-north-south");
        var single = movers.Take(Math.Min(1000, movers.Length)).ToArray();
        var alone = await MoveAsync(node, single, "south", "bench-north-south", expectMember: true, concurrency: 1);
        var afterAlone = await CountAsync(node, "bench-north-south");

        double Ms(LongHistogram h, double p) => h.GetValueAtPercentile(p) / (double)TimeSpan.TicksPerMillisecond;
        var cases = new[] { ($"join: customer asleep (state read from storage), {concurrency} at a time", cold), ($"leave: customer active, {concurrency} at a time", warm), ("join: customer active, one at a time", alone) };
        var figures = new SegmentFigures(
            customers, load.Elapsed.TotalSeconds,
            first.Elapsed.TotalSeconds, first.Progress.CustomersDone / first.Elapsed.TotalSeconds, firstCount, buyers,
            second.Elapsed.TotalSeconds, second.Progress.CustomersDone / second.Elapsed.TotalSeconds, secondCount, target,
            [.. cases.Select(x => new MembershipLatency(x.Item1, x.Item2.Rate, Ticks(x.Item2.Ack), Ticks(x.Item2.Visible)))]);
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Segments: backfill and event-to-membership latency — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Machine: {BenchNode.Machine}. Storage: PostgreSQL on the same machine ({await ServerSettingsAsync(node)}). One silo in the bench process; 16 segment shards.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"Population: {customers:N0} customers, 2 events each (profile, purchase), bulk-loaded into the event log in {load.Elapsed.TotalSeconds:0} s.");
        sb.AppendLine();
        sb.AppendLine("| step | customers | time (s) | customers/s | members | expected |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| backfill 1 `purchaseTotal >= 100` (each customer rebuilt from its log rows) | {first.Progress.CustomersDone:N0} | {first.Elapsed.TotalSeconds:0.0} | {first.Progress.CustomersDone / first.Elapsed.TotalSeconds:0} | {firstCount:N0} | {buyers:N0} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| backfill 2 `region in (\"north\", \"south\") and purchaseTotal >= 50` (customers from stored state) | {second.Progress.CustomersDone:N0} | {second.Elapsed.TotalSeconds:0.0} | {second.Progress.CustomersDone / second.Elapsed.TotalSeconds:0} | {secondCount:N0} | {target:N0} |");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Event to membership: {movers.Length:N0} customers who qualify on spend move north (they join), then back east (they leave); then some move south (they join again), one event at a time. Measured from sending the event until the segment's shard answers the new membership; the acknowledgement comes only after the shard stored it.");
        sb.AppendLine();
        sb.AppendLine("| event | events/s | ack p50 (ms) | ack p99 (ms) | in the shard p50 (ms) | p90 (ms) | p99 (ms) | max (ms) |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, m) in cases)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {m.Rate:0} | {Ms(m.Ack, 50):0.00} | {Ms(m.Ack, 99):0.00} | {Ms(m.Visible, 50):0.00} | {Ms(m.Visible, 90):0.00} | {Ms(m.Visible, 99):0.00} | {m.Visible.GetMaxValue() / (double)TimeSpan.TicksPerMillisecond:0.00} |");
        }

        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Members after the joins: {afterMoves:N0} (expected {target + movers.Length:N0}); after the leaves: {afterReturn:N0} (expected {target:N0}); after {single.Length:N0} join again one at a time: {afterAlone:N0} (expected {target + single.Length:N0}). Not yet visible at the acknowledgement: {cold.NotVisibleAtAck + warm.NotVisibleAtAck}. Managed heap after backfill 1: {gcAfterFirst / (1024.0 * 1024):0} MiB (customers woken only by a backfill deactivate when idle).");
        return new SegmentReport(sb.ToString(), figures);
    }

    /// <summary>A distribution recorded in ticks, in milliseconds.</summary>
    private static Latency Ticks(LongHistogram h) => new(
        h.TotalCount, h.GetValueAtPercentile(50) / 1e4, h.GetValueAtPercentile(90) / 1e4, h.GetValueAtPercentile(99) / 1e4,
        h.GetValueAtPercentile(99.9) / 1e4, h.GetMaxValue() / 1e4);

    private sealed record Moves(double Rate, LongHistogram Ack, LongHistogram Visible, int NotVisibleAtAck);

    private static async Task<Moves> MoveAsync(BenchNode node, int[] movers, string region, string segmentId, bool expectMember, int concurrency)
    {
        Console.Error.WriteLine($"Moving {movers.Length:N0} customers {region}...");
        var visible = new LongHistogram(TimeSpan.FromMinutes(1).Ticks, 3);
        var ack = new LongHistogram(TimeSpan.FromMinutes(1).Ticks, 3);
        var notVisibleAtAck = 0;
        var clock = Stopwatch.StartNew();
        await Parallel.ForAsync(0, movers.Length, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (n, _) =>
        {
            var id = CustomerId(movers[n]);
            var shard = node.Grains.GetGrain<ISegmentShardGrain>(SegmentShards.Key(segmentId, SegmentShards.Of(id)));
            var start = Stopwatch.GetTimestamp();
            await node.Grains.GetCustomer(id).RecordEventsAsync(
                [new CustomerEvent("move-" + region, CustomerEventTypes.ProfileChanged, DateTimeOffset.UtcNow, "bench", null, new EventData(Profile: new CustomerProfile(Region: region)))],
                createIfMissing: false);
            var acked = Stopwatch.GetElapsedTime(start);
            var atOnce = true;
            while (await shard.IsMemberAsync(id) != expectMember)
            {
                atOnce = false;
            }

            var seen = Stopwatch.GetElapsedTime(start);
            lock (visible)
            {
                visible.RecordValue(seen.Ticks);
                ack.RecordValue(acked.Ticks);
                notVisibleAtAck += atOnce ? 0 : 1;
            }
        });
        return new Moves(movers.Length / clock.Elapsed.TotalSeconds, ack, visible, notVisibleAtAck);
    }

    private static string CustomerId(int i) => "s" + i.ToString("D7", CultureInfo.InvariantCulture);

    private static int Amount(int i) => 10 + (int)((i * 37L) % 200);

    private static Task SeedAsync(BenchNode node, int customers)
    {
        var now = DateTimeOffset.UtcNow;
        return LogSeeder.SeedAsync(node, customers, i => (CustomerId(i),
        [
            new CustomerEvent("p", CustomerEventTypes.ProfileChanged, now.AddDays(-400), "bench", null, new EventData(Profile: new CustomerProfile("First" + i, "Last" + i, Region: Regions[i % 4]))),
            new CustomerEvent("b", CustomerEventTypes.Purchase, now.AddDays(-(i % 365) - 1), "bench", "web", new EventData(Amount: Amount(i))),
        ]));
    }

    private static async Task<(TimeSpan Elapsed, BackfillProgress Progress)> BackfillAsync(BenchNode node, string segmentId, string expression)
    {
        Console.Error.WriteLine($"Backfilling {segmentId}...");
        var clock = Stopwatch.StartNew();
        using var put = await node.Http.PutAsJsonAsync(new Uri($"/api/v1/segments/{segmentId}", UriKind.Relative), new { name = segmentId, expression });
        put.EnsureSuccessStatusCode();
        var backfill = node.Grains.GetGrain<ISegmentBackfillGrain>(segmentId);
        var lastReport = TimeSpan.Zero;
        while (true)
        {
            var progress = await backfill.GetProgressAsync();
            if (progress.Finished)
            {
                clock.Stop();
                Console.Error.WriteLine($"  {progress.CustomersDone:N0} customers in {clock.Elapsed.TotalSeconds:0.0} s");
                return (clock.Elapsed, progress);
            }

            if (clock.Elapsed - lastReport > TimeSpan.FromSeconds(30))
            {
                lastReport = clock.Elapsed;
                Console.Error.WriteLine($"  {progress.CustomersDone:N0} after {clock.Elapsed.TotalSeconds:0} s");
            }

            await Task.Delay(50);
        }
    }

    internal static Task<string> ServerSettingsAsync(BenchNode node) => ServerSettingsAsync(node.Storage.ConnectionString);

    internal static async Task<string> ServerSettingsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var settings = new List<string>();
        foreach (var name in new[] { "server_version", "fsync", "synchronous_commit", "shared_buffers" })
        {
            await using var show = new NpgsqlCommand($"SHOW {name}", connection);
            settings.Add($"{name} {await show.ExecuteScalarAsync()}");
        }

        return string.Join(", ", settings);
    }

    private static async Task<long> CountAsync(BenchNode node, string segmentId) =>
        (await Task.WhenAll(Enumerable.Range(0, SegmentShards.Count).Select(s => node.Grains.GetGrain<ISegmentShardGrain>(SegmentShards.Key(segmentId, s)).CountAsync()))).Sum();
}
