using Orleans.Services;

namespace OrleansCrm.Decisions;

/// <summary>One per silo: lets a grain make that silo's <see cref="DecisionCatalog"/> load a version now instead of at
/// its next periodic refresh.</summary>
public interface IDecisionCatalogService : IGrainService
{
    /// <summary>Returns once the silo holds at least <paramref name="segmentsVersion"/> of the segment definitions.</summary>
    Task EnsureSegmentsAsync(long segmentsVersion);
}

/// <summary>The decision catalogs of the whole cluster.</summary>
public interface ISiloCatalogs
{
    /// <summary>Returns once every active silo holds at least <paramref name="segmentsVersion"/> of the segment
    /// definitions, so a customer created or changed from then on is evaluated against them wherever it lives.</summary>
    Task EnsureSegmentsEverywhereAsync(long segmentsVersion);
}
