namespace OrleansCrm.Customers;

/// <summary>A role of <see cref="ICustomerGrain"/>. Segments: the customer evaluates the definitions itself and tells the
/// segment shards its joins and leaves.</summary>
[Alias("crm.ICustomerSegments")]
public interface ICustomerSegments : IGrainWithStringKey
{
    /// <summary>Evaluates the segment definitions now (a backfill, or time passing); returns the joins and leaves sent.</summary>
    [Alias("ReevaluateSegments")]
    Task<int> ReevaluateSegmentsAsync(long segmentsVersion);

    /// <summary>Marks this customer as listed in static segment <paramref name="segmentId"/>'s upload
    /// <paramref name="stamp"/>, and re-evaluates its segments. Returns the id of the customer that now carries the
    /// listing (the survivor, for a merged customer), or null when no such customer was recorded.</summary>
    [Alias("ListInStaticSegment")]
    Task<string?> ListInStaticSegmentAsync(string segmentId, long stamp);

    /// <summary>Whether the customer matches a segment definition now (a preview), without joining anything; null
    /// when no such customer was recorded.</summary>
    [Alias("Matches")]
    Task<bool?> MatchesAsync(string expression);
}
