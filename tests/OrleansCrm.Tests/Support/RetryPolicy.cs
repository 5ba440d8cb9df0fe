using System.Collections.Concurrent;

namespace OrleansCrm.Tests.Support;

/// <summary>
/// The retry policy an integrator's client uses against the gateway (docs/operations.md), written down so a test
/// can hold the cluster to it:
/// <list type="bullet">
/// <item>Only requests that are safe to repeat go through it: reads, and event POSTs (a repeated event id is
/// acknowledged as a duplicate and not applied twice).</item>
/// <item>Retried: a transport error (connection refused or reset, no answer within <see cref="AttemptTimeout"/>) and
/// any 5xx answer: 503 (cluster unavailable), 504 (the cluster did not answer in time: outcome unknown), 500.
/// Every other answer, success or not, is the request's outcome.</item>
/// <item>Between attempts: 250 ms, doubled after each attempt up to 2 s, or the answer's <c>Retry-After</c> when that
/// is longer.</item>
/// <item>Given up when <see cref="GiveUpAfter"/> has passed since the first attempt: longer than the cluster takes to
/// declare a crashed silo dead and move its customers (docs/operations.md), so a crash alone never fails a request.</item>
/// </list>
/// It counts what it did: requests, retried attempts (by reason) and requests it gave up on.
/// </summary>
public sealed class RetryPolicy(HttpClient http)
{
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(15);

    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    private long _requests;
    private long _retries;
    private long _gaveUp;
    private long _longestTicks;

    /// <summary>Why attempts were retried ("503", "504", "HttpRequestException", "timeout"...), with counts.</summary>
    public ConcurrentDictionary<string, long> RetryReasons { get; } = new(StringComparer.Ordinal);

    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Attempts that failed and were tried again.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Requests that still failed when the policy gave up: what the caller would have to report as failed.</summary>
    public long GaveUp => Interlocked.Read(ref _gaveUp);

    /// <summary>The longest a request took to reach its outcome, retries included.</summary>
    public TimeSpan Longest => TimeSpan.FromTicks(Interlocked.Read(ref _longestTicks));

    /// <summary>Sends the request <paramref name="make"/> builds (once per attempt); returns the answer that is the
    /// outcome, or null when the policy gave up. The caller disposes the answer.</summary>
    public async Task<HttpResponseMessage?> SendAsync(Func<HttpRequestMessage> make, CancellationToken stop = default)
    {
        Interlocked.Increment(ref _requests);
        var backoff = FirstBackoff;
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            string reason;
            TimeSpan? retryAfter = null;
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                cts.CancelAfter(AttemptTimeout);
                try
                {
                    using var request = make();
                    var response = await http.SendAsync(request, cts.Token);
                    if ((int)response.StatusCode < 500)
                    {
                        NoteDuration(started.Elapsed);
                        return response;
                    }

                    reason = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    retryAfter = response.Headers.RetryAfter?.Delta;
                    response.Dispose();
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    reason = "timeout";
                }
                catch (HttpRequestException e)
                {
                    reason = e.HttpRequestError.ToString();
                }
            }

            var wait = retryAfter > backoff ? retryAfter.Value : backoff;
            if (started.Elapsed + wait >= GiveUpAfter)
            {
                Interlocked.Increment(ref _gaveUp);
                NoteDuration(started.Elapsed);
                RetryReasons.AddOrUpdate("gave up after " + reason, 1, (_, n) => n + 1);
                return null;
            }

            Interlocked.Increment(ref _retries);
            RetryReasons.AddOrUpdate(reason, 1, (_, n) => n + 1);
            await Task.Delay(wait, stop);
            backoff = backoff * 2 > MaxBackoff ? MaxBackoff : backoff * 2;
        }
    }

    /// <summary>The counts in one line, for test output.</summary>
    public string Summary() =>
        $"{Requests} requests, {Retries} retried attempts ({string.Join(", ", RetryReasons.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key}: {r.Value}"))}), " +
        $"{GaveUp} given up, longest {Longest.TotalSeconds:0.0} s";

    private void NoteDuration(TimeSpan duration)
    {
        var ticks = duration.Ticks;
        for (var seen = Interlocked.Read(ref _longestTicks); ticks > seen; seen = Interlocked.Read(ref _longestTicks))
        {
            if (Interlocked.CompareExchange(ref _longestTicks, ticks, seen) == seen)
            {
                break;
            }
        }
    }
}
