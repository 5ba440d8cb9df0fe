using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansCrm.Catalog;

namespace OrleansCrm.Decisions;

/// <summary>What customer grains decide with, as of one moment: enabled rules, offers, models, RFM thresholds and
/// offer learning. Immutable; replaced whole when any part changes.</summary>
public sealed record DecisionSnapshot(
    long RulesVersion,
    IReadOnlyList<Rule> Rules,
    long OffersVersion,
    IReadOnlyList<Offer> Offers,
    long ModelsVersion,
    ModelSet Models,
    RfmThresholds? Rfm,
    IReadOnlyDictionary<string, OfferLearning> Learning,
    long SegmentsVersion = 0,
    IReadOnlyList<CompiledSegment>? Segments = null,
    long RfmVersion = 0)
{
    public static DecisionSnapshot Empty { get; } = new(0, [], 0, [], 0, ModelSet.Empty, null, new Dictionary<string, OfferLearning>());
}

/// <summary>A segment definition compiled once per version on each silo: an expression, or (static segments) the
/// stamp the listed customers carry.</summary>
/// <summary>A segment ready to evaluate. <paramref name="OrgUnit"/>: the unit it was made in; only customers of that
/// unit's subtree can be members, so a segment never lists customers its makers may not see.</summary>
public sealed record CompiledSegment(string Id, int Version, OrleansCrm.Segments.SegmentExpression? Expression, long? ListStamp = null, string OrgUnit = "")
{
    public static CompiledSegment From(SegmentDefinition d) => d.ListStamp is { } stamp
        ? new(d.Id, d.Version, null, stamp, d.OrgUnit ?? "")
        : new(d.Id, d.Version, OrleansCrm.Segments.SegmentExpression.Parse(d.Expression), null, d.OrgUnit ?? "");

    /// <summary>Whether a customer of <paramref name="customerUnit"/> may be a member at all.</summary>
    public bool Reaches(string? customerUnit) => OrgUnit.Length == 0 || OrleansCrm.Access.OrgUnits.Contains(OrgUnit, customerUnit);
}

/// <summary>
/// Every silo's local copy of the decision documents, refreshed from the catalog grains every two seconds, so
/// a customer grain decides without calling any other grain and a new version reaches running silos by itself.
/// </summary>
public sealed class DecisionCatalog(IGrainFactory grains, ILogger<DecisionCatalog> logger) : BackgroundService
{
    public static readonly TimeSpan RefreshPeriod = TimeSpan.FromSeconds(2);

    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DecisionSnapshot _current = DecisionSnapshot.Empty;

    public DecisionSnapshot Current => Volatile.Read(ref _current);

    /// <summary>
    /// Completes once the documents were loaded at least once. A customer grain waits for it before handling
    /// anything, so an event that arrives just after a silo starts is never judged without the rule base.
    /// </summary>
    public async Task WhenLoadedAsync(TimeSpan timeout)
    {
        if (!_loaded.Task.IsCompleted)
        {
            await _loaded.Task.WaitAsync(timeout);
        }
    }

    /// <summary>Makes sure this silo holds at least <paramref name="segmentsVersion"/> of the segment definitions
    /// (a backfill must not evaluate customers against an older set than the one it was started for).</summary>
    public async Task EnsureSegmentsAsync(long segmentsVersion)
    {
        for (var attempt = 0; Current.SegmentsVersion < segmentsVersion; attempt++)
        {
            if (attempt == 10)
            {
                throw new InvalidOperationException($"segment definitions version {segmentsVersion} did not reach this silo");
            }

            await RefreshAsync();
        }
    }

    /// <summary>Reloads now (also what the loop does every <see cref="RefreshPeriod"/>).</summary>
    public async Task RefreshAsync()
    {
        var old = Current;
        var rules = await LoadAsync(CatalogKinds.Rules, old.RulesVersion, json => (JsonSerializer.Deserialize<RuleSet>(json, DecisionJson.Options)?.Rules ?? []).Where(r => r.Enabled).ToList(), old.Rules);
        var offers = await LoadAsync(CatalogKinds.Offers, old.OffersVersion, json => JsonSerializer.Deserialize<OfferCatalog>(json, DecisionJson.Options)?.Offers ?? [], old.Offers);
        var models = await LoadAsync(CatalogKinds.Models, old.ModelsVersion, json => JsonSerializer.Deserialize<ModelSet>(json, DecisionJson.Options) ?? ModelSet.Empty, old.Models);
        var segments = await LoadAsync(CatalogKinds.Segments, old.SegmentsVersion, json =>
            (IReadOnlyList<CompiledSegment>)[.. (JsonSerializer.Deserialize<SegmentSet>(json, DecisionJson.Options)?.Segments ?? [])
                .Select(CompiledSegment.From)], old.Segments ?? []);
        var rfm = await LoadAsync(CatalogKinds.Rfm, old.RfmVersion, json => JsonSerializer.Deserialize<RfmThresholds>(json, DecisionJson.Options), old.Rfm);
        var learning = new Dictionary<string, OfferLearning>(StringComparer.Ordinal);
        foreach (var offer in offers.Value)
        {
            learning[offer.Id!] = await grains.GetGrain<IOfferLearningGrain>(offer.Id!).GetAsync();
        }

        Volatile.Write(ref _current, new DecisionSnapshot(rules.Version, rules.Value, offers.Version, offers.Value, models.Version, models.Value, rfm.Value, learning, segments.Version, segments.Value, rfm.Version));
        _loaded.TrySetResult();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RefreshAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The silo may still be starting, or a catalog grain moving; the next round retries.
                logger.LogDebug(e, "Decision catalog refresh failed; keeping version {Rules}/{Offers}/{Models}", Current.RulesVersion, Current.OffersVersion, Current.ModelsVersion);
            }

            await Task.Delay(RefreshPeriod, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task<(long Version, T Value)> LoadAsync<T>(string kind, long known, Func<string, T> parse, T current)
    {
        var catalog = grains.GetGrain<ICatalogGrain>(kind);
        var version = await catalog.GetVersionAsync();
        if (version == known)
        {
            return (known, current);
        }

        var document = await catalog.GetAsync();
        logger.LogInformation("Loaded {Kind} version {Version}", kind, document.Version);
        return (document.Version, parse(document.Json));
    }
}
