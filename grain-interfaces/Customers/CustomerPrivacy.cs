using OrleansCrm.Campaigns;

namespace OrleansCrm.Customers;

/// <summary>What an erasure did, answered again unchanged by a repeated erase of the same customer.</summary>
[GenerateSerializer, Immutable, Alias("crm.ErasureReport")]
public sealed record ErasureReport(
    string CustomerId,
    DateTimeOffset ErasedAt,
    int LogRowsRedacted,
    int ContactPointsReleased,
    int SegmentsLeft,
    int ActionsBlanked,
    int KeptAnswersForgotten = 0);

/// <summary>Everything the customer grain holds about one customer for a privacy export, except the history, which
/// the caller pages through <see cref="ICustomerReading.GetHistoryAsync"/>.</summary>
[GenerateSerializer, Immutable, Alias("crm.CustomerExport")]
public sealed record CustomerExport(
    CustomerView View,
    CampaignAction[] Actions,
    SegmentMembership[] Segments,
    string[] MergedCustomerIds);

/// <summary>One row of the segment member table for the customer (or a customer merged into it).</summary>
[GenerateSerializer, Immutable, Alias("crm.SegmentMembership")]
public sealed record SegmentMembership(string SegmentId, string CustomerId, bool Member, DateTimeOffset ChangedAt);

/// <summary>What a customer merged into an erased one gave up: the ids whose logs, actions and lookup-index rows must be
/// cleaned (its own and those merged into it earlier). <see cref="ContactKeys"/> is empty since the index became rows
/// released by customer id; it stays for silos of earlier versions.</summary>
[GenerateSerializer, Immutable, Alias("crm.ForgottenCustomer")]
public sealed record ForgottenCustomer(string[] CustomerIds, string[] ContactKeys);
