namespace OrleansCrm.Campaigns;

/// <summary>
/// One campaign (key: the campaign id): its definition and its run. A launch walks the members of the target
/// segments shard by shard (the union, each customer once), asks each customer to decide for itself, and keeps the
/// counters; it resumes by itself after a crash (a reminder). Plan: docs/campaigns.md.
/// </summary>
[Alias("crm.ICampaignGrain")]
public interface ICampaignGrain : IGrainWithStringKey
{
    /// <summary>Creates or replaces the definition of a campaign that is not running; returns the stored version.</summary>
    [Alias("Define")]
    Task<CampaignStatus> DefineAsync(CampaignDefinition definition);

    [Alias("Launch")]
    Task<CampaignStatus> LaunchAsync();

    [Alias("Pause")]
    Task<CampaignStatus> PauseAsync();

    [Alias("Resume")]
    Task<CampaignStatus> ResumeAsync();

    [Alias("Cancel")]
    Task<CampaignStatus> CancelAsync();

    /// <summary>For a customer a rule triggered the campaign for: the definition and the run's step id while a
    /// triggered campaign is running, else null (the trigger is dropped). Answered between the campaign's other calls
    /// (it only reads): a customer that the campaign's own launch walk is waiting on may ask it, and must not wait for
    /// that walk.</summary>
    [Alias("Trigger"), Orleans.Concurrency.AlwaysInterleave]
    Task<CampaignStep?> GetTriggerStepAsync();

    /// <summary>Counts a triggered customer's new decision; like <see cref="GetTriggerStepAsync"/>, answered between
    /// the campaign's other calls (it only adds to counters in memory; a timer writes them).</summary>
    [Alias("RecordTriggered"), Orleans.Concurrency.AlwaysInterleave]
    Task RecordTriggeredAsync(CampaignDecisionResult result);

    /// <summary>Responses, conversions and revenue of the contacted and the control group, from the event log; null
    /// when no such campaign was defined.</summary>
    [Alias("Results")]
    Task<CampaignResults?> GetResultsAsync();

    /// <summary>The definition, the run's state and its live counters; null when no such campaign was defined.</summary>
    [Alias("Status")]
    Task<CampaignStatus?> GetStatusAsync();

    /// <summary>The status with where its actions are (<see cref="CampaignStatus.Delivery"/>), counted in the outbox.</summary>
    [Alias("Progress")]
    Task<CampaignStatus?> GetProgressAsync();
}

/// <summary>An action a campaign emitted for one customer: the message to send on a channel (not before
/// <see cref="NotBefore"/>), keyed for idempotency by campaign, step and customer. On a channel with a daily limit
/// it carries the day the capacity planner gave it and, on a channel worked by agents, the agent whose call list it
/// is on.</summary>
[GenerateSerializer, Immutable, Alias("crm.CampaignAction")]
public sealed record CampaignAction(
    long Sequence,
    string IdempotencyKey,
    string CampaignId,
    string StepId,
    string CustomerId,
    string Channel,
    string? Subject,
    string Body,
    bool Html,
    DateTimeOffset? NotBefore,
    DateTimeOffset CreatedAt,
    string DeliveryState,
    int Priority = 0,
    string? PlannedDay = null,
    string? AgentId = null);

/// <summary>The actions campaigns released, in the order they were released: the pull feed integrators read. An
/// action waiting for capacity joins the feed on the day it is planned for.</summary>
[Alias("crm.ICampaignFeedGrain")]
public interface ICampaignFeedGrain : IGrainWithIntegerKey
{
    /// <summary>The next actions after <paramref name="after"/> (<see cref="FeedCursor.Start"/> to begin), and the
    /// cursor to pass next time.</summary>
    [Alias("Read")]
    Task<FeedPage> ReadAsync(FeedCursor after, int limit, string? campaignId);
}

/// <summary>A position in the action feed: the releasing transaction and the release sequence (PostgreSQL orders
/// by both so a late commit never lands behind the cursor; SQLite's transaction is always 0). Written as
/// <c>tx.seq</c>.</summary>
[GenerateSerializer, Immutable, Alias("crm.FeedCursor")]
public readonly record struct FeedCursor(long Transaction, long Sequence)
{
    public static FeedCursor Start => default;

    public override string ToString() => FormattableString.Invariant($"{Transaction}.{Sequence}");

    /// <summary>Reads <c>tx.seq</c> (or <c>0</c> for the start); false for anything else.</summary>
    public static bool TryParse(string? text, out FeedCursor cursor)
    {
        cursor = Start;
        if (string.IsNullOrEmpty(text) || text == "0")
        {
            return true;
        }

        var parts = text.Split('.');
        if (parts.Length == 2
            && long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var tx)
            && long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seq))
        {
            cursor = new FeedCursor(tx, seq);
            return true;
        }

        return false;
    }
}

/// <summary>A page of the action feed and the cursor after it (the same cursor when nothing new was released).</summary>
[GenerateSerializer, Immutable, Alias("crm.FeedPage")]
public sealed record FeedPage(CampaignAction[] Actions, FeedCursor Next);

/// <summary>Where a campaign's actions are: waiting for capacity, released and waiting to be delivered, delivered
/// (pushed to the webhook or called by an agent), failed.</summary>
[GenerateSerializer, Immutable, Alias("crm.DeliveryCounts")]
public sealed record DeliveryCounts(long WaitingForCapacity, long Queued, long Delivered, long Failed);

/// <summary>A campaign step as a customer receives it; <see cref="Segment"/> is the target segment the launch found
/// the customer in (the first in the definition's order), which results are broken down by.</summary>
[GenerateSerializer, Immutable, Alias("crm.CampaignStep")]
public sealed record CampaignStep(string CampaignId, string StepId, CampaignDefinition Definition, string? OfferName, JourneyBranch? Branch = null, string? Segment = null);

/// <summary>For a journey's follow-up: the step id of the journey's first message and the condition to check.</summary>
[GenerateSerializer, Immutable, Alias("crm.JourneyBranch")]
public sealed record JourneyBranch(string EntryStepId, string When);

/// <summary>What a customer decided (<see cref="ContactOutcomes"/>) and why; <see cref="Repeat"/> when the step had
/// been decided before and this is the recorded answer.</summary>
[GenerateSerializer, Immutable, Alias("crm.CampaignDecisionResult")]
public sealed record CampaignDecisionResult(string Outcome, string? Reason, string? Channel, bool Repeat);

public static class ContactOutcomes
{
    public const string Send = "send";
    public const string Defer = "defer";
    public const string Control = "control";
    public const string Suppressed = "suppressed";
}

[GenerateSerializer, Immutable, Alias("crm.CampaignStatus")]
public sealed record CampaignStatus(
    string CampaignId,
    CampaignDefinition Definition,
    int Version,
    string State,
    string? StepId,
    long Targeted,
    long Sent,
    long Deferred,
    long HeldOut,
    Dictionary<string, long> Suppressed,
    int ShardsDone,
    DateTimeOffset? LaunchedAt,
    DateTimeOffset? FinishedAt,
    DateTimeOffset? NextRunAt = null,
    CampaignRun[]? Runs = null,
    DeliveryCounts? Delivery = null);

/// <summary>A finished run of a campaign (a periodic campaign runs again and again).</summary>
[GenerateSerializer, Immutable, Alias("crm.CampaignRun")]
public sealed record CampaignRun(string StepId, long Targeted, long Sent, long Deferred, long HeldOut, long Suppressed, DateTimeOffset? LaunchedAt, DateTimeOffset FinishedAt);

public static class CampaignStates
{
    public const string Draft = "draft";
    public const string Running = "running";
    public const string Paused = "paused";

    /// <summary>A periodic campaign between two runs.</summary>
    public const string Scheduled = "scheduled";
    public const string Cancelled = "cancelled";
    public const string Completed = "completed";
}

/// <summary>The campaign cannot do what was asked in its state (launching a running campaign, editing it).</summary>
[GenerateSerializer, Alias("crm.CampaignStateException")]
public sealed class CampaignStateException : Exception
{
    public CampaignStateException()
    {
    }

    public CampaignStateException(string message)
        : base(message)
    {
    }

    public CampaignStateException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>A definition the campaign refused, with every problem by field (<c>templates.email.body</c>: "…").</summary>
[GenerateSerializer, Alias("crm.CampaignValidationException")]
public sealed class CampaignValidationException : Exception
{
    public CampaignValidationException()
    {
    }

    public CampaignValidationException(Dictionary<string, string[]> errors)
        : base("The campaign definition is not valid: " + string.Join("; ", errors.Select(e => $"{e.Key} {e.Value[0]}"))) => Errors = errors;

    public CampaignValidationException(string message)
        : base(message)
    {
    }

    public CampaignValidationException(string message, Exception inner)
        : base(message, inner)
    {
    }

    [Id(0)] public Dictionary<string, string[]> Errors { get; init; } = [];
}

/// <summary>Where campaign actions are pushed: an HTTPS (or loopback HTTP) endpoint and the secret their HMAC-SHA256
/// signatures are made with. Stored as the <c>webhook</c> catalog document.</summary>
public sealed record WebhookSettings(string? Url, string? Secret, bool Enabled = true);

/// <summary>
/// Pushes pending campaign actions to the configured webhook, one grain for the cluster: in batches of the oldest due
/// actions, up to 16 POSTs of a batch at once (so a receiver may see neighbours out of order), each action
/// POSTed as JSON with headers <c>Idempotency-Key</c> and <c>X-Crm-Signature: sha256=&lt;hex HMAC of the body&gt;</c>;
/// a failure is retried with exponential backoff (2 s doubling, at most an hour, 10 attempts), then marked failed.
/// </summary>
[Alias("crm.IWebhookDeliveryGrain")]
public interface IWebhookDeliveryGrain : IGrainWithIntegerKey
{
    /// <summary>Makes sure the sender runs (a reminder keeps it running across restarts).</summary>
    [Alias("EnsureRunning")]
    Task EnsureRunningAsync();
}

/// <summary>How one group of a campaign's customers responded within the attribution window after their contact
/// (or hold-out): responses are purchases, e-mail clicks, inbound calls and accepted offers; conversions are purchases.</summary>
[GenerateSerializer, Immutable, Alias("crm.CampaignResultGroup")]
public sealed record CampaignResultGroup(string Name, long Customers, long Responders, long Converters, decimal Revenue, double ResponseRate, double ConversionRate);

/// <summary>A campaign's results: the contacted against the control group, uplift of the response rate with its 95%
/// interval, revenue, cost and ROI, and the contacted by channel.</summary>
[GenerateSerializer, Immutable, Alias("crm.CampaignResults")]
public sealed record CampaignResults(
    string CampaignId,
    int AttributionDays,
    CampaignResultGroup Contacted,
    CampaignResultGroup Control,
    double? Uplift,
    double? UpliftLow,
    double? UpliftHigh,
    decimal Cost,
    decimal IncrementalRevenue,
    double? Roi,
    CampaignResultGroup[] ByChannel,
    CampaignSegmentResult[]? BySegment = null);

/// <summary>The customers a launch found in one target segment: contacted against control, and the uplift of the
/// response rate (null without both groups).</summary>
[GenerateSerializer, Immutable, Alias("crm.CampaignSegmentResult")]
public sealed record CampaignSegmentResult(string Segment, CampaignResultGroup Contacted, CampaignResultGroup Control, double? Uplift);
