namespace OrleansCrm.Segments;

/// <summary>Segment membership rows (<c>crm_segment_members</c>), written only by the shard grain that owns them, and
/// each shard's size per day (<c>crm_segment_sizes</c>).</summary>
public interface ISegmentStore
{
    /// <summary>Stores each customer's membership whose <see cref="SegmentChange.Sequence"/> is newer than the stored
    /// one, in one transaction; returns the change in the shard's member count. When the count changes, the shard's
    /// size for today (<paramref name="countBefore"/> plus the change) is written in the same transaction.</summary>
    Task<int> ApplyAsync(string segmentId, int shard, IReadOnlyList<SegmentChange> changes, long countBefore);

    Task<long> CountAsync(string segmentId, int shard);

    /// <summary>Members of one shard in id order, after <paramref name="afterCustomerId"/>, with when each joined.</summary>
    Task<IReadOnlyList<SegmentMember>> MembersAsync(string segmentId, int shard, string? afterCustomerId, int limit);

    Task<bool> IsMemberAsync(string segmentId, string customerId);

    /// <summary>Up to <paramref name="limit"/> members drawn at random.</summary>
    Task<IReadOnlyList<string>> SampleMembersAsync(string segmentId, int limit);

    /// <summary>Each shard's last recorded size per day, for the segment's size over time.</summary>
    Task<IReadOnlyList<(DateOnly Day, int Shard, long Count)>> SizesAsync(string segmentId);

    /// <summary>Every customer id the log knows, in id order, after <paramref name="afterCustomerId"/> (for backfills).</summary>
    Task<IReadOnlyList<string>> CustomerIdsAsync(string? afterCustomerId, int limit);

    /// <summary>How many customers the log knows.</summary>
    Task<long> CustomerCountAsync();

    /// <summary>Every membership row (current or left) of the given customers (a privacy export).</summary>
    Task<IReadOnlyList<OrleansCrm.Customers.SegmentMembership>> MembershipsAsync(IReadOnlyList<string> customerIds);

    /// <summary>Up to <paramref name="limit"/> customer ids drawn at random from the log.</summary>
    Task<IReadOnlyList<string>> SampleCustomersAsync(int limit);
}

/// <summary>One customer's join (<see cref="Member"/> true) or leave, with the customer's sequence for it.</summary>
public sealed record SegmentChange(string CustomerId, bool Member, long Sequence);
