namespace OrleansCrm.Segments;

/// <summary>
/// One shard of a segment (key <c>segmentId/shard</c>): receives the joins and leaves of the customers that hash to
/// it, keeps their live count, and pages its members. Receipt is idempotent: a message applies only when its
/// sequence is newer than the last one stored for that customer.
/// </summary>
[Alias("crm.ISegmentShardGrain")]
public interface ISegmentShardGrain : IGrainWithStringKey
{
    /// <summary>Applies a customer's join (<paramref name="member"/> true) or leave; returns the shard's count.</summary>
    [Alias("Apply")]
    Task<long> ApplyAsync(string customerId, bool member, long sequence);

    [Alias("Count")]
    Task<long> CountAsync();

    /// <summary>Members in id order after <paramref name="afterCustomerId"/>.</summary>
    [Alias("Members")]
    Task<string[]> MembersAsync(string? afterCustomerId, int limit);
}

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
