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
    /// triggered campaign is running, else null (the trigger is dropped).</summary>
    [Alias("Trigger")]
    Task<CampaignStep?> GetTriggerStepAsync();

    /// <summary>Counts a triggered customer's new decision.</summary>
    [Alias("RecordTriggered")]
    Task RecordTriggeredAsync(CampaignDecisionResult result);

    /// <summary>Responses, conversions and revenue of the contacted and the control group, from the event log; null
    /// when no such campaign was defined.</summary>
    [Alias("Results")]
    Task<CampaignResults?> GetResultsAsync();

    /// <summary>The definition, the run's state and its live counters; null when no such campaign was defined.</summary>
    [Alias("Status")]
    Task<CampaignStatus?> GetStatusAsync();
}

/// <summary>An action a campaign emitted for one customer: the message to send on a channel (not before
/// <see cref="NotBefore"/>), keyed for idempotency by campaign, step and customer.</summary>
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
    string DeliveryState);

/// <summary>The actions campaigns emitted, in the order they were stored: the pull feed integrators read.</summary>
[Alias("crm.ICampaignFeedGrain")]
public interface ICampaignFeedGrain : IGrainWithIntegerKey
{
    [Alias("Read")]
    Task<CampaignAction[]> ReadAsync(long afterSequence, int limit, string? campaignId);
}

/// <summary>A campaign step as a customer receives it.</summary>
[GenerateSerializer, Immutable, Alias("crm.CampaignStep")]
public sealed record CampaignStep(string CampaignId, string StepId, CampaignDefinition Definition, string? OfferName, JourneyBranch? Branch = null);

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
    CampaignRun[]? Runs = null);

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
/// Pushes pending campaign actions to the configured webhook, in order, one grain for the cluster: each action is
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
    CampaignResultGroup[] ByChannel);
