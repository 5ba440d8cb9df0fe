using OrleansCrm.Bench.Load;

namespace OrleansCrm.Bench.Suite;

/// <summary>Everything a suite run measured; written as the run's JSON.</summary>
public sealed record SuiteFigures(
    string Kind,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    string Machine,
    string Database,
    BenchOptions Options,
    PopulationFigures Population,
    SeedingFigures Seeding,
    WarmUpFigures WarmUp,
    CrossCheckFigures CrossCheck,
    IReadOnlyList<ClosedLoopRow> ClosedLoop,
    IReadOnlyList<SearchRow> Searches,
    IReadOnlyList<EqualLoadRow> EqualLoad,
    IReadOnlyList<RatioRow> Ratios,
    SegmentFigures? Segments = null,
    CampaignFigures? Campaign = null,
    [property: System.Text.Json.Serialization.JsonIgnore] string? SegmentsMarkdown = null,
    [property: System.Text.Json.Serialization.JsonIgnore] string? CampaignMarkdown = null)
{
    /// <summary>WAL bytes per ingested event, both systems (since the write-path change; absent in earlier runs).</summary>
    public WalFigures? Wal { get; init; }
}

/// <summary>Bytes of WAL PostgreSQL wrote per event during each system's direct ingest run (CRM: 64 callers, its lagging
/// snapshots included; baseline: its direct SQL run).</summary>
public sealed record WalFigures(double CrmBytesPerEvent, double BaselineBytesPerEvent, long CrmEvents, long BaselineEvents);

public sealed record PopulationFigures(
    int Seed,
    int Customers,
    long Events,
    double EventsPerCustomerMean,
    long EventsPerCustomerP50,
    long EventsPerCustomerP90,
    long EventsPerCustomerP99,
    long EventsPerCustomerMax,
    double ShareWith30OrMoreEvents,
    int DistinctSurnames,
    int CommonestSurnameHolders,
    long BaselineContacts,
    long BaselineTransactions);

public sealed record SeedingFigures(double CrmLogCopySeconds, double BaselineCopySeconds, double BaselineIndexSeconds);

/// <summary>Every customer woken once before measuring: the first wake rebuilds the customer from its log rows
/// (and claims its e-mail, phone and name in the lookup index), so it is the cold-start cost of an imported base.
/// <see cref="HeapBytesPerCustomer"/>: the bench process's managed heap growth per customer right after the wake;
/// <see cref="HeapBytesPerCustomerAtEnd"/>: at the end of the measurements.
/// <see cref="SettleSeconds"/>: VACUUM ANALYZE after the wake.</summary>
public sealed record WarmUpFigures(int Customers, int Concurrency, double Seconds, double CustomersPerSecond, Latency ColdWake, double HeapBytesPerCustomer, long HeapBeforeBytes, double? HeapBytesPerCustomerAtEnd = null, double SettleSeconds = 0);

public sealed record CrossCheckFigures(int Sampled, int Agreeing, IReadOnlyList<string> Differences);

public sealed record ClosedLoopRow(string System, string Scenario, string Path, ClosedLoopResult Result);

public sealed record SearchRow(string System, string Scenario, SearchResult Search);

public sealed record EqualLoadRow(string Scenario, double Rate, OpenLoopStep Crm, OpenLoopStep Baseline, double P99Ratio);

/// <summary>CRM ÷ baseline: above 1 the CRM serves more at the same p99 target; below 1 its p99 is lower at the same load.</summary>
public sealed record RatioRow(string Scenario, double P99TargetMs, double CrmMaxRate, double BaselineMaxRate, double ThroughputAtEqualP99, double? EqualLoadRate, double? CrmP99, double? BaselineP99, double? P99AtEqualLoad);

public sealed record SegmentFigures(
    int Customers,
    double LoadSeconds,
    double Backfill1Seconds,
    double Backfill1CustomersPerSecond,
    long Backfill1Members,
    long Backfill1Expected,
    double Backfill2Seconds,
    double Backfill2CustomersPerSecond,
    long Backfill2Members,
    long Backfill2Expected,
    IReadOnlyList<MembershipLatency> EventToMembership);

public sealed record MembershipLatency(string Case, double EventsPerSecond, Latency Acknowledged, Latency InTheShard);

public sealed record CampaignFigures(int Customers, double BackfillSeconds, long Decided, double SecondsToDecideAll, double DecisionsPerSecond, long Actions, long ExpectedActions, double ActionsPerSecond);
