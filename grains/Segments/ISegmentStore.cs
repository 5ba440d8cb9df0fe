namespace OrleansCrm.Segments;

/// <summary>Segment membership rows (<c>crm_segment_members</c>), written only by the shard grain that owns them.</summary>
public interface ISegmentStore
{
    /// <summary>Stores the customer's membership if <paramref name="sequence"/> is newer than the stored one; returns
    /// the change in the shard's member count (+1, −1 or 0).</summary>
    Task<int> ApplyAsync(string segmentId, int shard, string customerId, bool member, long sequence);

    Task<long> CountAsync(string segmentId, int shard);

    /// <summary>Members of one shard in id order, after <paramref name="afterCustomerId"/>.</summary>
    Task<IReadOnlyList<string>> MembersAsync(string segmentId, int shard, string? afterCustomerId, int limit);

    /// <summary>Every customer id the log knows, in id order, after <paramref name="afterCustomerId"/> (for backfills).</summary>
    Task<IReadOnlyList<string>> CustomerIdsAsync(string? afterCustomerId, int limit);
}
