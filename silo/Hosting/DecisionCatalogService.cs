using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Runtime.Services;
using OrleansCrm.Decisions;

namespace OrleansCrm.Silo.Hosting;

/// <summary>The per-silo end of <see cref="ISiloCatalogs"/>: refreshes this silo's <see cref="DecisionCatalog"/>.</summary>
[Reentrant]
public sealed class DecisionCatalogService(GrainId id, Orleans.Runtime.Silo silo, ILoggerFactory loggers, DecisionCatalog catalog)
    : GrainService(id, silo, loggers), IDecisionCatalogService
{
    public Task EnsureSegmentsAsync(long segmentsVersion) => catalog.EnsureSegmentsAsync(segmentsVersion);
}

/// <summary>Calls <see cref="DecisionCatalogService"/> on every silo the membership lists as active. A silo that dies
/// meanwhile fails the call (the caller retries); one that joins later loads the catalog before it serves.</summary>
public sealed class SiloCatalogs(IServiceProvider services, IClusterMembershipService membership)
    : GrainServiceClient<IDecisionCatalogService>(services), ISiloCatalogs
{
    public async Task EnsureSegmentsEverywhereAsync(long segmentsVersion)
    {
        var silos = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress);
        await Task.WhenAll(silos.Select(s => GetGrainService(s).EnsureSegmentsAsync(segmentsVersion)));
    }
}
