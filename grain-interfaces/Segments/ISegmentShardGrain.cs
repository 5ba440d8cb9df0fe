namespace OrleansCrm.Segments;

/// <summary>
/// One shard of a segment (key <c>segmentId/shard</c>): receives the joins and leaves of the customers that hash to
/// it, keeps their live count, and pages its members. Receipt is idempotent: a message applies only when its
/// sequence is newer than the last one stored for that customer.
/// </summary>
[Alias("crm.ISegmentShardGrain")]
public interface ISegmentShardGrain : IGrainWithStringKey
{
    /// <summary>Applies a customer's join (<paramref name="member"/> true) or leave once it is stored; returns the
    /// shard's count. Interleaves: concurrent messages are committed together.</summary>
    [Alias("Apply")]
    [Orleans.Concurrency.AlwaysInterleave]
    Task<long> ApplyAsync(string customerId, bool member, long sequence);

    [Alias("Count")]
    Task<long> CountAsync();

    /// <summary>Members in id order after <paramref name="afterCustomerId"/>.</summary>
    [Alias("Members")]
    Task<string[]> MembersAsync(string? afterCustomerId, int limit);

    /// <summary>Members in id order after <paramref name="afterCustomerId"/>, with when each joined.</summary>
    [Alias("MemberRows")]
    Task<SegmentMember[]> MemberRowsAsync(string? afterCustomerId, int limit);

    /// <summary>Whether the customer is a member now.</summary>
    [Alias("IsMember")]
    Task<bool> IsMemberAsync(string customerId);
}

[GenerateSerializer, Immutable, Alias("crm.SegmentMember")]
public sealed record SegmentMember(string CustomerId, DateTimeOffset Since);

/// <summary>Brings every existing customer up to a segment definition's version, in chunks, while the cluster
/// keeps serving; resumes after a silo failure (a reminder), and reports progress.</summary>
[Alias("crm.ISegmentBackfillGrain")]
public interface ISegmentBackfillGrain : IGrainWithStringKey
{
    [Alias("Start")]
    Task StartAsync(int version);

    [Alias("Progress")]
    Task<BackfillProgress> GetProgressAsync();
}

[GenerateSerializer, Immutable, Alias("crm.BackfillProgress")]
public sealed record BackfillProgress(int Version, long CustomersDone, bool Finished, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);

/// <summary>
/// Read-only questions about segments that look at many customers: a preview of a definition before it is saved,
/// and a segment's statistics. Stateless; answers from a uniform random sample where the population is larger
/// than the sample, and says so.
/// </summary>
[Alias("crm.ISegmentReportGrain")]
public interface ISegmentReportGrain : IGrainWithIntegerKey
{
    /// <summary>How many customers a definition would hold now, from up to <paramref name="sampleSize"/> customers.</summary>
    [Alias("Preview")]
    Task<SegmentPreview> PreviewAsync(string expression, int sampleSize);

    /// <summary>A segment's size over time and its members' profile, from up to <paramref name="sampleSize"/> members.</summary>
    [Alias("Statistics")]
    Task<SegmentStatistics> StatisticsAsync(string segmentId, int sampleSize);
}

/// <summary>A preview: <see cref="Exact"/> when every customer was evaluated; otherwise an estimate with a 95%
/// interval (Wilson) from <see cref="Sampled"/> customers drawn at random.</summary>
[GenerateSerializer, Immutable, Alias("crm.SegmentPreview")]
public sealed record SegmentPreview(long Customers, int Sampled, int Matched, long EstimatedMembers, long Low, long High, bool Exact, string[] SampleMembers);

[GenerateSerializer, Immutable, Alias("crm.SegmentSize")]
public sealed record SegmentSize(DateOnly Day, long Members);

/// <summary>What an analyst reads about a segment. Means and breakdowns come from <see cref="Sampled"/> members
/// drawn at random (all of them when the segment is no larger than the sample).</summary>
[GenerateSerializer, Immutable, Alias("crm.SegmentStatistics")]
public sealed record SegmentStatistics(
    string SegmentId,
    long Members,
    SegmentSize[] SizeOverTime,
    int Sampled,
    Dictionary<string, double> MeanScores,
    decimal ArpuMonthly,
    decimal ArpuYearly,
    decimal MeanPurchaseTotal,
    Dictionary<string, long> ByRegion,
    Dictionary<string, long> ByPreferredChannel,
    Dictionary<string, long> ByContactChannel);

public static class SegmentShards
{
    public const int Count = 16;

    /// <summary>A stable shard for a customer: FNV-1a over the id, so every silo and version agrees.</summary>
    public static int Of(string customerId)
    {
        var hash = 2166136261u;
        foreach (var c in customerId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % Count);
    }

    public static string Key(string segmentId, int shard) => $"{segmentId}/{shard}";
}
