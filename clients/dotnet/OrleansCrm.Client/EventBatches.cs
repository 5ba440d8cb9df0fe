using Microsoft.Kiota.Serialization.Json;
using OrleansCrm.Client.Generated.Models;

namespace OrleansCrm.Client;

public sealed partial class CrmClient
{
    /// <summary>The gateway's limits on one batch (docs/api.md, "Batches").</summary>
    public const int MaxLinesPerBatch = 10_000;

    public const int MaxBytesPerBatch = 16 * 1024 * 1024;

    /// <summary>
    /// Records many customers' events through <c>POST /api/v1/events</c>: the events are written as NDJSON, one line
    /// each (every one with its <c>customerId</c>), in batches of at most <paramref name="linesPerBatch"/> lines and
    /// 16 MiB, sent one after another, each with its own <c>Idempotency-Key</c> (so a retried batch is answered once).
    /// Returns each batch's result in order; a batch the gateway refuses whole (400: nothing of it stored) throws its
    /// problem, after the batches before it were recorded. Events carry their own ids, so sending the same events
    /// again records nothing twice.
    /// </summary>
    public async Task<IReadOnlyList<BatchResult>> PostEventsAsync(
        IEnumerable<EventEnvelope> events, bool createIfMissing = false, int linesPerBatch = 1_000, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentOutOfRangeException.ThrowIfLessThan(linesPerBatch, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(linesPerBatch, MaxLinesPerBatch);
        var results = new List<BatchResult>();
        using var batch = new MemoryStream();
        var lines = 0;
        foreach (var e in events)
        {
            var line = Line(e);
            if (line.Length + 1 > MaxBytesPerBatch)
            {
                throw new ArgumentException($"event {e.EventId} is larger than a batch may be ({MaxBytesPerBatch} bytes)", nameof(events));
            }

            if (lines == linesPerBatch || batch.Length + line.Length + 1 > MaxBytesPerBatch)
            {
                results.Add(await SendBatchAsync(batch, createIfMissing, cancellationToken).ConfigureAwait(false));
                lines = 0;
            }

            batch.Write(line);
            batch.WriteByte((byte)'\n');
            lines++;
        }

        if (lines > 0)
        {
            results.Add(await SendBatchAsync(batch, createIfMissing, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    /// <summary>One event as one line of compact JSON (UTF-8, no line break inside).</summary>
    public static byte[] Line(EventEnvelope e)
    {
        using var writer = new JsonSerializationWriter();
        writer.WriteObjectValue(null, e);
        using var content = writer.GetSerializedContent();
        using var bytes = new MemoryStream();
        content.CopyTo(bytes);
        return bytes.ToArray();
    }

    private async Task<BatchResult> SendBatchAsync(MemoryStream batch, bool createIfMissing, CancellationToken cancellation)
    {
        using var body = new MemoryStream(batch.ToArray(), writable: false);
        batch.SetLength(0);
        return await V1.Events.PostAsync(body, c => c.QueryParameters.CreateIfMissing = createIfMissing, cancellation).ConfigureAwait(false)
            ?? throw new InvalidOperationException("the gateway answered a batch with no body");
    }
}
