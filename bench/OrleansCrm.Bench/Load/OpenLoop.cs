using System.Diagnostics;

namespace OrleansCrm.Bench.Load;

/// <summary>
/// One open-loop step. <see cref="Latency"/> is measured from each request's intended start (its slot in the fixed
/// schedule), not from when it was sent, so a stall of the system or of the generator counts against every request
/// that should have gone out meanwhile (the correction for coordinated omission). <see cref="Achieved"/> counts
/// requests answered inside the measured window. <see cref="DispatchLagP99"/> is how late the generator itself sent
/// (p99, ms): latency below it cannot be told apart from the generator's own delay.
/// </summary>
public sealed record OpenLoopStep(
    double Offered,
    double Achieved,
    Latency Latency,
    long Requests,
    long Errors,
    long Unsent,
    long Unfinished,
    double DispatchLagP99,
    bool Passed,
    string? Failure,
    string? FirstError,
    GcFigures? Gc = null)
{
    /// <summary>The latencies recorded, kept to merge steps (<see cref="OpenLoop.Combine"/>); not written out.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public HdrHistogram.HistogramBase? Histogram { get; init; }
}

public static class OpenLoop
{
    /// <summary>At most this many requests in flight; beyond it the generator waits, and the wait counts in the
    /// latency of the requests it delays.</summary>
    public const int MaxInFlight = 4096;

    private static readonly TimeSpan SendGrace = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(15);

    /// <summary>Sends <paramref name="call"/> at <paramref name="rate"/> per second for <paramref name="warmUp"/>
    /// (not measured) then <paramref name="duration"/>. The step passes when every request went out and came back,
    /// at most 0.1% failed, at least 95% of the offered rate was answered inside the window, and the p99 stayed
    /// within <paramref name="p99TargetMs"/>.</summary>
    public static async Task<OpenLoopStep> RunAsync(double rate, TimeSpan warmUp, TimeSpan duration, double p99TargetMs, Func<long, Task> call)
    {
        var histogram = Latency.NewHistogram();
        var lag = Latency.NewHistogram();
        var interval = Stopwatch.Frequency / rate;
        var total = (long)Math.Ceiling(rate * (warmUp + duration).TotalSeconds);
        var t0 = Stopwatch.GetTimestamp() + ClosedLoop.Ticks(TimeSpan.FromMilliseconds(20));
        var measureFrom = t0 + ClosedLoop.Ticks(warmUp);
        var measureTo = measureFrom + ClosedLoop.Ticks(duration);
        var sendDeadline = measureTo + ClosedLoop.Ticks(SendGrace);
        long inFlight = 0, measured = 0, errors = 0, answeredInWindow = 0, sent = 0;
        string? firstError = null;
        var gc = GcWindow.Start();

        async Task OneAsync(long n, long intended)
        {
            var start = Stopwatch.GetTimestamp();
            var inWindow = intended >= measureFrom;
            var ok = true;
            try
            {
                await call(n);
            }
#pragma warning disable CA1031 // a failed request is counted and the step goes on
            catch (Exception e)
#pragma warning restore CA1031
            {
                ok = false;
                Interlocked.CompareExchange(ref firstError, e.GetType().Name + ": " + e.Message, null);
            }

            var done = Stopwatch.GetTimestamp();
            if (inWindow)
            {
                Latency.Record(lag, intended, start);
                Latency.Record(histogram, intended, done);
                Interlocked.Increment(ref measured);
                if (!ok)
                {
                    Interlocked.Increment(ref errors);
                }
            }

            if (ok && done >= measureFrom && done <= measureTo)
            {
                Interlocked.Increment(ref answeredInWindow);
            }

            Interlocked.Decrement(ref inFlight);
        }

        // The schedule is kept by a thread of its own, so a busy thread pool delays requests (and shows in their
        // latency) but not the schedule; requests due in the same millisecond go out together.
        var dispatcher = new Thread(() =>
        {
            long i = 0;
            while (i < total)
            {
                var now = Stopwatch.GetTimestamp();
                if (now > sendDeadline)
                {
                    break;
                }

                while (i < total)
                {
                    var intended = t0 + (long)(i * interval);
                    if (intended > now || Interlocked.Read(ref inFlight) >= MaxInFlight)
                    {
                        break;
                    }

                    Interlocked.Increment(ref inFlight);
                    var n = i;
                    _ = Task.Run(() => OneAsync(n, intended));
                    i++;
                }

                Thread.Sleep(1);
            }

            Interlocked.Exchange(ref sent, i);
        })
        { IsBackground = true, Name = "open-loop schedule", Priority = ThreadPriority.AboveNormal };
        dispatcher.Start();
        while (dispatcher.IsAlive)
        {
            await Task.Delay(50);
        }

        var drainUntil = Stopwatch.GetTimestamp() + ClosedLoop.Ticks(DrainLimit);
        while (Interlocked.Read(ref inFlight) > 0 && Stopwatch.GetTimestamp() < drainUntil)
        {
            await Task.Delay(10);
        }

        var collections = gc.Stop();
        var unsent = total - Interlocked.Read(ref sent);
        var unfinished = Interlocked.Read(ref inFlight);
        var latency = Latency.From(histogram);
        var achieved = Interlocked.Read(ref answeredInWindow) / duration.TotalSeconds;
        var failure =
            unsent > 0 ? $"{unsent} requests not sent in time"
            : unfinished > 0 ? $"{unfinished} requests unanswered after {DrainLimit.TotalSeconds:0} s"
            : errors > measured / 1000 ? $"{errors} of {measured} failed"
            : achieved < 0.95 * rate ? $"achieved {achieved:0} of {rate:0}/s"
            : latency.P99 > p99TargetMs ? $"p99 {latency.P99:0.00} ms over {p99TargetMs:0.##} ms"
            : null;
        return new OpenLoopStep(rate, achieved, latency, measured, errors, unsent, unfinished, Latency.From(lag).P99, failure is null, failure, firstError, collections)
        {
            Histogram = histogram,
        };
    }

    /// <summary>Rounds of one rate run at different times, as one step: latencies merged, counts added, the
    /// achieved rate averaged; it passes when every round passed and the merged p99 is within the target.</summary>
    public static OpenLoopStep Combine(IReadOnlyList<OpenLoopStep> rounds, double p99TargetMs)
    {
        var merged = Latency.NewHistogram();
        foreach (var round in rounds)
        {
            merged.Add(round.Histogram!);
        }

        var latency = Latency.From(merged);
        var failure = rounds.FirstOrDefault(r => !r.Passed)?.Failure
            ?? (latency.P99 > p99TargetMs ? $"p99 {latency.P99:0.00} ms over {p99TargetMs:0.##} ms" : null);
        return new OpenLoopStep(
            rounds[0].Offered, rounds.Average(r => r.Achieved), latency, rounds.Sum(r => r.Requests), rounds.Sum(r => r.Errors),
            rounds.Sum(r => r.Unsent), rounds.Sum(r => r.Unfinished), rounds.Max(r => r.DispatchLagP99), failure is null, failure,
            rounds.Select(r => r.FirstError).FirstOrDefault(e => e is not null),
            new GcFigures(rounds.Sum(r => r.Gc?.PauseMs ?? 0), rounds.Sum(r => r.Gc?.Gen0 ?? 0), rounds.Sum(r => r.Gc?.Gen1 ?? 0), rounds.Sum(r => r.Gc?.Gen2 ?? 0)))
        {
            Histogram = merged,
        };
    }
}
