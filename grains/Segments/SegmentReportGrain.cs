using OrleansCrm.Customers;
using Orleans.Concurrency;

namespace OrleansCrm.Segments;

/// <summary>
/// Previews and statistics. Each sampled customer answers for itself (the same facts its membership is decided on);
/// customers woken only for this deactivate when idle. Stateless, so every silo can serve these in parallel.
/// </summary>
[StatelessWorker]
[GrainType("segment-report")]
public sealed class SegmentReportGrain(ISegmentStore store) : Grain, ISegmentReportGrain
{
    private const int Parallelism = 32;

    public async Task<SegmentPreview> PreviewAsync(string expression, int sampleSize)
    {
        // Parsing here first turns a bad definition into a parse error instead of one per customer.
        SegmentExpression.Parse(expression);
        var customers = await store.CustomerCountAsync();
        var sample = await store.SampleCustomersAsync(sampleSize);
        var answers = new bool?[sample.Count];
        await Parallel.ForAsync(0, sample.Count, Options, async (i, _) => answers[i] = await GrainFactory.GetCustomer(sample[i]).MatchesAsync(expression));
        var evaluated = answers.Count(a => a is not null);
        var matched = answers.Count(a => a == true);
        var members = sample.Where((_, i) => answers[i] == true).Order(StringComparer.Ordinal).Take(20).ToArray();
        var exact = sample.Count >= customers;
        if (OrleansCrm.Access.CallerReach.Current is not null && sample.Count > 0)
        {
            // A caller of a unit is answered about its unit: customers of other units answered as missing ones and
            // are neither evaluated nor counted, so the population is the sample's share in reach.
            customers = exact ? evaluated : (long)Math.Round(customers * (double)evaluated / sample.Count);
        }

        if (exact || evaluated == 0)
        {
            return new SegmentPreview(customers, evaluated, matched, matched, matched, matched, exact, members);
        }

        var (low, high) = Wilson(matched, evaluated);
        return new SegmentPreview(customers, evaluated, matched, (long)Math.Round(customers * (double)matched / evaluated), (long)Math.Floor(customers * low), (long)Math.Ceiling(customers * high), false, members);
    }

    public async Task<SegmentStatistics> StatisticsAsync(string segmentId, int sampleSize)
    {
        var sizes = await store.SizesAsync(segmentId);
        var overTime = new List<SegmentSize>();
        var latest = new Dictionary<int, long>();
        foreach (var day in sizes.GroupBy(s => s.Day).OrderBy(g => g.Key))
        {
            foreach (var (_, shard, count) in day)
            {
                latest[shard] = count;
            }

            overTime.Add(new SegmentSize(day.Key, latest.Values.Sum()));
        }

        var counts = await Task.WhenAll(Enumerable.Range(0, SegmentShards.Count).Select(s => GrainFactory.GetGrain<ISegmentShardGrain>(SegmentShards.Key(segmentId, s)).CountAsync()));
        var sample = await store.SampleMembersAsync(segmentId, sampleSize);
        var views = new CustomerView?[sample.Count];
        await Parallel.ForAsync(0, sample.Count, Options, async (i, _) => views[i] = await GrainFactory.GetCustomer(sample[i]).GetViewAsync());
        var seen = views.OfType<CustomerView>().ToList();

        var meanScores = seen.SelectMany(v => v.Scores)
            .GroupBy(kv => kv.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => Math.Round(g.Average(kv => kv.Value.Value), 4), StringComparer.Ordinal);
        decimal Mean(Func<CustomerView, decimal> of) => seen.Count == 0 ? 0 : Math.Round(seen.Average(of), 2);
        Dictionary<string, long> Breakdown(Func<CustomerView, IEnumerable<string>> of) =>
            seen.SelectMany(of).GroupBy(k => k, StringComparer.Ordinal).OrderByDescending(g => g.LongCount()).ToDictionary(g => g.Key, g => g.LongCount(), StringComparer.Ordinal);

        return new SegmentStatistics(
            segmentId,
            counts.Sum(),
            [.. overTime],
            seen.Count,
            meanScores,
            Mean(v => v.Transactions.Spend30Days),
            Mean(v => v.Transactions.Spend365Days),
            Mean(v => v.Transactions.PurchaseTotal),
            Breakdown(v => [v.Region ?? "(none)"]),
            Breakdown(v => [v.PreferredChannel ?? "(none)"]),
            Breakdown(v => v.RecentContacts.Select(c => c.Channel ?? "(none)").Distinct(StringComparer.Ordinal)));
    }

    private static ParallelOptions Options => new() { MaxDegreeOfParallelism = Parallelism, TaskScheduler = TaskScheduler.Current };

    /// <summary>The 95% Wilson score interval of a proportion.</summary>
    internal static (double Low, double High) Wilson(int successes, int n)
    {
        const double z = 1.96;
        var p = (double)successes / n;
        var denominator = 1 + (z * z / n);
        var centre = (p + (z * z / (2 * n))) / denominator;
        var half = z * Math.Sqrt((p * (1 - p) / n) + (z * z / (4.0 * n * n))) / denominator;
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
