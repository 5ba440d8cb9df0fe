namespace OrleansCrm.Bench.Load;

/// <summary>The highest offered rate at which a system kept its p99 within the target and answered what was offered,
/// with every step tried on the way.</summary>
public sealed record SearchResult(string Name, double P99TargetMs, double MaxRate, OpenLoopStep? AtMax, IReadOnlyList<OpenLoopStep> Steps);

public static class RateSearch
{
    /// <summary>Doubles the rate from <paramref name="startRate"/> until a step fails (or halves it until one
    /// passes), then bisects (geometrically) between the last pass and the first failure until they are within
    /// <paramref name="resolution"/> of each other.</summary>
    public static async Task<SearchResult> FindMaxAsync(
        string name, double startRate, double p99TargetMs, TimeSpan warmUp, TimeSpan step, Func<long, Task> call,
        double resolution = 0.1, double maxRate = 1_000_000)
    {
        Console.Error.WriteLine($"  search: {name} (p99 ≤ {p99TargetMs} ms, from {startRate:0}/s)");
        var steps = new List<OpenLoopStep>();
        OpenLoopStep? best = null;
        var failedAt = double.PositiveInfinity;

        async Task<OpenLoopStep> TryAsync(double rate)
        {
            var result = await OpenLoop.RunAsync(Math.Round(rate), warmUp, step, p99TargetMs, call);
            steps.Add(result);
            Console.Error.WriteLine($"    {result.Offered,8:0}/s → {result.Achieved,8:0}/s p50 {result.Latency.P50,7:0.00} p99 {result.Latency.P99,8:0.00} ms {(result.Passed ? "pass" : "FAIL: " + result.Failure)}");
            // Let a queue left by an overloaded step drain before the next one starts.
            await Task.Delay(result.Passed ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromSeconds(3));
            return result;
        }

        var rate = Math.Max(10, startRate);
        while (rate <= maxRate)
        {
            var result = await TryAsync(rate);
            if (!result.Passed)
            {
                failedAt = result.Offered;
                break;
            }

            best = result;
            rate *= 2;
        }

        while (best is null && rate >= 20)
        {
            rate /= 2;
            var result = await TryAsync(rate);
            if (result.Passed)
            {
                best = result;
            }
            else
            {
                failedAt = result.Offered;
            }
        }

        while (best is not null && failedAt / best.Offered > 1 + resolution)
        {
            var middle = Math.Round(Math.Sqrt(best.Offered * failedAt));
            if (middle <= best.Offered || middle >= failedAt)
            {
                break;
            }

            var result = await TryAsync(middle);
            if (result.Passed)
            {
                best = result;
            }
            else
            {
                failedAt = result.Offered;
            }
        }

        return new SearchResult(name, p99TargetMs, best?.Offered ?? 0, best, steps);
    }
}
