using System.Diagnostics;
using HdrHistogram;

namespace OrleansCrm.Bench.Load;

/// <summary>A latency distribution in milliseconds, read from an HdrHistogram of microseconds.</summary>
public sealed record Latency(long Count, double P50, double P90, double P99, double P999, double Max)
{
    private const long Highest = 10L * 60 * 1_000_000;

    public static LongConcurrentHistogram NewHistogram() => new(1, Highest, 3);

    /// <summary>Records the time from <paramref name="startTimestamp"/> (a <see cref="Stopwatch"/> timestamp) to
    /// <paramref name="endTimestamp"/>.</summary>
    public static void Record(HistogramBase histogram, long startTimestamp, long endTimestamp)
    {
        var micros = (endTimestamp - startTimestamp) * 1_000_000 / Stopwatch.Frequency;
        histogram.RecordValue(Math.Clamp(micros, 1, Highest));
    }

    public static Latency From(HistogramBase h) => h.TotalCount == 0
        ? new Latency(0, 0, 0, 0, 0, 0)
        : new Latency(h.TotalCount, Ms(h, 50), Ms(h, 90), Ms(h, 99), Ms(h, 99.9), h.GetMaxValue() / 1000.0);

    private static double Ms(HistogramBase h, double percentile) => h.GetValueAtPercentile(percentile) / 1000.0;
}
