using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OrleansCrm.Telemetry;

/// <summary>
/// The CRM's own metrics (meter <c>OrleansCrm</c>), exported with Orleans' and ASP.NET Core's through OpenTelemetry
/// (the gateway's <c>/metrics</c>): how long the CRM's storage calls take, and what customers, segments and campaigns
/// do. Prometheus names: <c>crm_storage_duration_seconds</c>, <c>crm_customer_events_total</c>,
/// <c>crm_segment_changes_total</c>, <c>crm_campaign_decisions_total</c>, <c>crm_campaign_actions_total</c>.
/// </summary>
public static class CrmMetrics
{
    public const string MeterName = "OrleansCrm";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Time of one storage call of the CRM's stores, by <c>operation</c> (e.g. <c>log.append</c>).</summary>
    public static readonly Histogram<double> StorageDuration = Meter.CreateHistogram<double>(
        "crm.storage.duration", "s", "Duration of the CRM's storage calls (event log, segment members, campaign actions)");

    public static readonly Counter<long> CustomerEvents = Meter.CreateCounter<long>(
        "crm.customer.events", "{event}", "Events appended to customers' logs (duplicates not counted)");

    public static readonly Counter<long> SegmentChanges = Meter.CreateCounter<long>(
        "crm.segment.changes", "{change}", "Segment joins and leaves stored by the shards, by change");

    public static readonly Counter<long> CampaignDecisions = Meter.CreateCounter<long>(
        "crm.campaign.decisions", "{decision}", "Customers decided by campaign steps, by outcome");

    public static readonly Counter<long> CampaignActions = Meter.CreateCounter<long>(
        "crm.campaign.actions", "{action}", "Campaign actions stored in the outbox (each exactly once)");

    /// <summary>How many customer commits (and rows) each group commit of a silo's writer carried.</summary>
    public static readonly Histogram<long> GroupCommitUnits = Meter.CreateHistogram<long>(
        "crm.writer.batch.commits", "{commit}", "Customer commits carried by one group-commit transaction of a silo's writer");

    public static readonly Histogram<long> GroupCommitRows = Meter.CreateHistogram<long>(
        "crm.writer.batch.rows", "{row}", "Rows (log events, actions, snapshots) written by one group-commit transaction");

    /// <summary>Audit records per transaction of a silo's audit writer (each read of a customer adds one).</summary>
    public static readonly Histogram<long> AuditBatchRecords = Meter.CreateHistogram<long>(
        "crm.audit.batch.records", "{record}", "Audit records written by one transaction of a silo's audit writer");

    /// <summary>Records the time since <paramref name="started"/> (a <see cref="Stopwatch.GetTimestamp"/>) for <paramref name="operation"/>.</summary>
    public static void StorageCall(string operation, long started) =>
        StorageDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("operation", operation));
}
