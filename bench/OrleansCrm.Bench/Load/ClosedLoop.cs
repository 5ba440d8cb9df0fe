using System.Diagnostics;

namespace OrleansCrm.Bench.Load;

/// <summary>What a closed-loop run measured: each of <see cref="Concurrency"/> callers sends its next request when
/// the previous one is answered, so the rate is whatever the system gives.</summary>
public sealed record ClosedLoopResult(string Name, int Concurrency, double Seconds, double Throughput, Latency Latency, long Errors, string? FirstError, GcFigures? Gc = null);

public static class ClosedLoop
{
    /// <summary>Runs <paramref name="call"/> from <paramref name="concurrency"/> callers for
    /// <paramref name="warmUp"/> (not measured) and then <paramref name="duration"/>.</summary>
    public static async Task<ClosedLoopResult> RunAsync(string name, int concurrency, TimeSpan warmUp, TimeSpan duration, Func<Random, long, Task> call)
    {
        Console.Error.WriteLine($"  closed loop: {name} ({concurrency} callers, {duration.TotalSeconds:0} s)");
        var histogram = Latency.NewHistogram();
        var errors = 0L;
        var counter = 0L;
        string? firstError = null;
        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + Ticks(warmUp);
        var measureTo = measureFrom + Ticks(duration);
        var completed = 0L;
        var gc = GcWindow.Start();
        var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
        {
            var rnd = new Random((w * 7919) + name.Length);
            while (Stopwatch.GetTimestamp() < measureTo)
            {
                var n = Interlocked.Increment(ref counter);
                var sent = Stopwatch.GetTimestamp();
                var ok = true;
                try
                {
                    await call(rnd, n);
                }
#pragma warning disable CA1031 // a failed request is counted and the run goes on
                catch (Exception e)
#pragma warning restore CA1031
                {
                    ok = false;
                    Interlocked.CompareExchange(ref firstError, e.GetType().Name + ": " + e.Message, null);
                }

                var done = Stopwatch.GetTimestamp();
                if (sent >= measureFrom && done <= measureTo)
                {
                    if (ok)
                    {
                        Latency.Record(histogram, sent, done);
                        Interlocked.Increment(ref completed);
                    }
                    else
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var latency = Latency.From(histogram);
        return new ClosedLoopResult(name, concurrency, duration.TotalSeconds, completed / duration.TotalSeconds, latency, errors, firstError, gc.Stop());
    }

    internal static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
