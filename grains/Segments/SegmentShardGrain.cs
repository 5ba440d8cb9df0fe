namespace OrleansCrm.Segments;

/// <summary>
/// A shard of a segment. Its rows live in <c>crm_segment_members</c> (so its own state stays small however large
/// the segment grows); the live count is loaded at activation and kept current as messages apply.
/// <para>
/// Joins and leaves are group-committed: <see cref="ApplyAsync"/> interleaves, queues the message, and one write loop
/// stores whatever has queued since its last transaction in the next one. Under load a shard commits hundreds of
/// messages at once instead of one transaction each; alone, a message is written at once. A caller is answered only
/// after the transaction holding its message committed.
/// </para>
/// </summary>
[GrainType("segment-shard")]
public sealed class SegmentShardGrain(ISegmentStore store) : Grain, ISegmentShardGrain
{
    private const int MaxBatch = 500;

    private readonly List<(SegmentChange Change, TaskCompletionSource<long> Done)> _queue = [];
    private string _segmentId = "";
    private int _shard;
    private long _count;
    private bool _writing;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        var slash = key.LastIndexOf('/');
        _segmentId = key[..slash];
        _shard = int.Parse(key[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        _count = await store.CountAsync(_segmentId, _shard);
    }

    public Task<long> ApplyAsync(string customerId, bool member, long sequence)
    {
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Add((new SegmentChange(customerId, member, sequence), done));
        if (!_writing)
        {
            _writing = true;
            _ = WriteLoopAsync();
        }

        return done.Task;
    }

    public Task<long> CountAsync() => Task.FromResult(_count);

    public async Task<string[]> MembersAsync(string? afterCustomerId, int limit) =>
        [.. (await store.MembersAsync(_segmentId, _shard, afterCustomerId, Math.Clamp(limit, 1, 1000))).Select(m => m.CustomerId)];

    public async Task<SegmentMember[]> MemberRowsAsync(string? afterCustomerId, int limit) =>
        [.. await store.MembersAsync(_segmentId, _shard, afterCustomerId, Math.Clamp(limit, 1, 5000))];

    public Task<bool> IsMemberAsync(string customerId) => store.IsMemberAsync(_segmentId, customerId);

    /// <summary>Runs on the grain's scheduler (one turn at a time), so the queue needs no lock.</summary>
    private async Task WriteLoopAsync()
    {
        try
        {
            while (_queue.Count > 0)
            {
                var batch = _queue.Take(MaxBatch).ToList();
                _queue.RemoveRange(0, batch.Count);
                try
                {
                    _count += await store.ApplyAsync(_segmentId, _shard, [.. batch.Select(b => b.Change)], _count);
                    batch.ForEach(b => b.Done.SetResult(_count));
                }
                catch (Exception e)
                {
                    // Each customer keeps its message and sends it again (a message already stored is ignored then).
                    // Whether the commit itself went through is unknown, so the count is read back.
                    batch.ForEach(b => b.Done.SetException(e));
                    try
                    {
                        _count = await store.CountAsync(_segmentId, _shard);
                    }
                    catch (Exception)
                    {
                        // The database is unreachable: the next activation loads the count.
                        DeactivateOnIdle();
                    }
                }
            }
        }
        finally
        {
            _writing = false;
        }
    }
}
