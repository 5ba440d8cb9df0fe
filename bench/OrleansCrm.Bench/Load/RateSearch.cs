namespace OrleansCrm.Bench.Load;

/// <summary>The highest offered rate at which a system kept its p99 within the target and answered what was offered,
/// with every step tried on the way.</summary>
public sealed record SearchResult(string Name, double P99TargetMs, double MaxRate, OpenLoopStep? AtMax, IReadOnlyList<OpenLoopStep> Steps);

/// <summary>
/// A search for the highest passing rate: doubles the rate from the start until a step fails (or halves it until
/// one passes), then bisects (geometrically) between the last pass and the first failure until they are within the
/// resolution of each other. A failed rate is tried again up to <paramref name="retries"/> times and fails only if
/// every try fails, so one stall of a shared machine does not end a search. It only proposes rates and takes
/// results, so several searches can take turns on the machine (<see cref="RunInTurnsAsync"/>) and a busy spell of
/// the machine falls on all of them, not on one.
/// </summary>
public sealed class RateSearch(string name, double startRate, double p99TargetMs, double resolution = 0.1, int retries = 1, double maxRate = 1_000_000)
{
    private const double MinRate = 10;
    private readonly List<OpenLoopStep> _steps = [];
    private int _triesFailed;
    private OpenLoopStep? _best;
    private double _failedAt = double.PositiveInfinity;
    private bool _doubling = true;

    public string Name { get; } = name;

    /// <summary>The rate to try next, or null when the search is over.</summary>
    public double? Next { get; private set; } = Math.Round(Math.Max(MinRate, startRate));

    public SearchResult Result => new(Name, p99TargetMs, _best?.Offered ?? 0, _best, _steps);

    public void Record(OpenLoopStep step)
    {
        _steps.Add(step);
        _triesFailed = step.Passed ? 0 : _triesFailed + 1;
        if (!step.Passed && _triesFailed <= retries)
        {
            Next = step.Offered;
            return;
        }

        _triesFailed = 0;
        if (step.Passed)
        {
            _best = step;
        }
        else
        {
            _failedAt = Math.Min(_failedAt, step.Offered);
        }

        if (_doubling && step.Passed)
        {
            Next = step.Offered * 2 <= maxRate ? step.Offered * 2 : null;
            return;
        }

        _doubling = false;
        if (_best is null)
        {
            // Nothing passed yet: halve.
            Next = step.Offered / 2 >= MinRate ? Math.Round(step.Offered / 2) : null;
            return;
        }

        var middle = Math.Round(Math.Sqrt(_best.Offered * _failedAt));
        Next = _failedAt / _best.Offered > 1 + resolution && middle > _best.Offered && middle < _failedAt ? middle : null;
    }

    /// <summary>Runs the searches a step at a time in turn until each is over.</summary>
    public static async Task RunInTurnsAsync(IReadOnlyList<(RateSearch Search, Func<long, Task> Call)> searches, TimeSpan warmUp, TimeSpan step)
    {
        foreach (var (search, _) in searches)
        {
            Console.Error.WriteLine($"  search: {search.Name} (p99 ≤ {search.Result.P99TargetMs} ms, from {search.Next:0}/s)");
        }

        while (searches.Any(s => s.Search.Next is not null))
        {
            foreach (var (search, call) in searches.Where(s => s.Search.Next is not null))
            {
                var result = await OpenLoop.RunAsync(search.Next!.Value, warmUp, step, search.Result.P99TargetMs, call);
                search.Record(result);
                Console.Error.WriteLine($"    {search.Name,-28} {result.Offered,8:0}/s → {result.Achieved,8:0}/s p50 {result.Latency.P50,7:0.00} p99 {result.Latency.P99,8:0.00} ms {(result.Passed ? "pass" : "FAIL: " + result.Failure)}");
                // Let a queue left by an overloaded step drain before the next one starts.
                await Task.Delay(result.Passed ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromSeconds(3));
            }
        }
    }
}
