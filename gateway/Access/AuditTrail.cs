using System.Threading.Channels;
using OrleansCrm.Access;

namespace OrleansCrm.Gateway.Access;

/// <summary>
/// The gateway's side of the audit trail: records queue here and are sent to the cluster in batches (one grain call,
/// one database transaction per batch; up to four batches in flight, so one stuck on a dying silo holds back no
/// other). A change or a refusal waits until its record is committed before the answer leaves; a read is answered once
/// its record is queued, so reading a customer view costs no database round trip. A batch of read records alone
/// gathers for up to 10 ms before it is sent, so the database makes a few large commits a second. The queue is bounded:
/// when the cluster cannot keep up, callers wait for room rather than go unrecorded (<c>crm_audit_queue_full_total</c>).
/// Records still queued when the gateway is stopped are written before it exits; a crash loses at most the reads
/// queued in the last moments (docs/decisions.md, "Access"). While the database cannot be reached, a request waits for
/// its record at most the gateway's call timeout: then it is answered and its record stays queued until it is written.
/// </summary>
public sealed class AuditTrail(IClusterClient cluster, TimeProvider clock, OrleansCrm.Hosting.Configuration.CrmSettings settings, ILogger<AuditTrail> logger) : BackgroundService
{
    private const int Capacity = 10_000;
    private const int MaxBatch = 1_000;
    private const int InFlight = 4;

    /// <summary>How long a batch of read records may wait for more before it is sent.</summary>
    private static readonly TimeSpan ReadLinger = TimeSpan.FromMilliseconds(10);

    private static readonly System.Diagnostics.Metrics.Meter Meter = new("OrleansCrm");

    /// <summary>Requests that found the queue full and waited for room: the database is not keeping up with the reads.</summary>
    private static readonly System.Diagnostics.Metrics.Counter<long> FullWaits = Meter.CreateCounter<long>(
        "crm.audit.queue.full", "{request}", "Requests whose audit record waited for room in the gateway's full audit queue");

    /// <summary>Set while a batch of reads gathers: a record someone waits for completes it, so the batch leaves at once.</summary>
    private TaskCompletionSource? _flushNow;

    /// <summary>Set while the writer's last attempt failed.</summary>
    private volatile bool _failing;

    private readonly Channel<(AuditEntry Entry, TaskCompletionSource? Committed)> _queue =
        Channel.CreateBounded<(AuditEntry, TaskCompletionSource?)>(new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    /// <summary>Records a request's outcome; <paramref name="wait"/>: return only once the record is committed.</summary>
    public Task RecordAsync(HttpContext http, string action, string? customerId, int status, string outcome, bool wait = true) =>
        RecordAsync(http.User.Actor(), action, $"{http.Request.Method} {http.Request.Path}", customerId, status, outcome, http.TraceIdentifier, wait);

    public async Task RecordAsync(string actor, string action, string resource, string? customerId, int status, string outcome, string? requestId, bool wait = true)
    {
        // While the trail cannot write (the database is away), a refusal or failure does not wait for its record: it
        // changed nothing, and its record stays queued until it can be written.
        wait &= !(_failing && outcome != "allowed");
        var committed = wait ? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) : null;
        var record = (new AuditEntry(clock.GetUtcNow(), actor, action, resource, customerId, status, outcome, requestId, AuditEntry.NewId()), committed);
        if (!_queue.Writer.TryWrite(record))
        {
            // Back-pressure: the request waits for room rather than go unrecorded.
            FullWaits.Add(1);
            await _queue.Writer.WriteAsync(record);
        }

        if (committed is not null)
        {
            Volatile.Read(ref _flushNow)?.TrySetResult();
            try
            {
                await committed.Task.WaitAsync(settings.Gateway.CallTimeout);
            }
            catch (TimeoutException)
            {
                // The answer (a refusal or a failure: a successful customer change stores its record with the change)
                // must not wait on a database that is away; the record is written as soon as it returns.
                logger.LogWarning("Audit record of {Action} by {Actor} not stored within {Timeout}; answered, the record stays queued", action, actor, settings.Gateway.CallTimeout);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // No more records: the writer drains what is queued, then ends.
        _queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Several batches in flight: one whose call waits on a silo that just died (until the call timeout) does not
        // hold back the records queued behind it.
        using var slots = new SemaphoreSlim(InFlight);
        var writing = new List<Task>();
        while (await _queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            var batch = new List<(AuditEntry Entry, TaskCompletionSource? Committed)>(MaxBatch);
            var waited = Drain(batch);

            // A batch of reads alone (nobody waits for their commit) gathers for a moment, so the trail makes a few large
            // commits a second rather than one per record, and this loop wakes once per batch rather than once per
            // record (waking per record cost more than the record). A record someone waits for ends the wait at once.
            if (!waited && batch.Count < MaxBatch && !_queue.Reader.Completion.IsCompleted)
            {
                var flush = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref _flushNow, flush);
                if (!Drain(batch) && batch.Count < MaxBatch)
                {
                    await Task.WhenAny(flush.Task, Task.Delay(ReadLinger, CancellationToken.None));
                    Drain(batch);
                }

                Volatile.Write(ref _flushNow, null);
            }

            await slots.WaitAsync(CancellationToken.None);
            writing.RemoveAll(t => t.IsCompleted);
            writing.Add(WriteAsync(batch, slots, stoppingToken));
        }

        // Stopping: what is in flight is written before the gateway exits.
        await Task.WhenAll(writing);
    }

    /// <summary>Moves queued records into <paramref name="batch"/> (up to its limit); true when one of them is waited for.</summary>
    private bool Drain(List<(AuditEntry Entry, TaskCompletionSource? Committed)> batch)
    {
        var waited = false;
        while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
        {
            batch.Add(item);
            waited |= item.Committed is not null;
        }

        return waited;
    }

    private async Task WriteAsync(List<(AuditEntry Entry, TaskCompletionSource? Committed)> batch, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        try
        {
            // A batch is written or the writer keeps trying: no record is dropped while the gateway runs, and none is
            // stored twice (a retry of a batch that did commit adds nothing: each record's id is unique).
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await cluster.GetGrain<IAccessGrain>(0).AppendAuditAsync([.. batch.Select(b => b.Entry)]);
                    _failing = false;
                    batch.ForEach(b => b.Committed?.TrySetResult());
                    return;
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    _failing = true;
                    logger.LogWarning(e, "Writing {Count} audit records failed (attempt {Attempt}); retrying", batch.Count, attempt);
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 * attempt)), CancellationToken.None);
                }
            }
        }
        finally
        {
            slots.Release();
        }
    }
}
