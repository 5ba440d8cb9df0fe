namespace OrleansCrm.Segments;

/// <summary>
/// A shard of a segment. Its rows live in <c>crm_segment_members</c> (so its own state stays small however large
/// the segment grows); the live count is loaded at activation and kept current as messages apply.
/// </summary>
[GrainType("segment-shard")]
public sealed class SegmentShardGrain(ISegmentStore store) : Grain, ISegmentShardGrain
{
    private string _segmentId = "";
    private int _shard;
    private long _count;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        var slash = key.LastIndexOf('/');
        _segmentId = key[..slash];
        _shard = int.Parse(key[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        _count = await store.CountAsync(_segmentId, _shard);
    }

    public async Task<long> ApplyAsync(string customerId, bool member, long sequence)
    {
        _count += await store.ApplyAsync(_segmentId, _shard, customerId, member, sequence, _count);
        return _count;
    }

    public Task<long> CountAsync() => Task.FromResult(_count);

    public async Task<string[]> MembersAsync(string? afterCustomerId, int limit) =>
        [.. (await store.MembersAsync(_segmentId, _shard, afterCustomerId, Math.Clamp(limit, 1, 1000))).Select(m => m.CustomerId)];

    public async Task<SegmentMember[]> MemberRowsAsync(string? afterCustomerId, int limit) =>
        [.. await store.MembersAsync(_segmentId, _shard, afterCustomerId, Math.Clamp(limit, 1, 5000))];

    public Task<bool> IsMemberAsync(string customerId) => store.IsMemberAsync(_segmentId, customerId);
}
