using OrleansCrm.Access;
using Microsoft.Extensions.Logging;
using OrleansCrm.Campaigns;
using OrleansCrm.Decisions;

namespace OrleansCrm.Customers;

/// <summary>
/// One customer. Every change is an event: appended to the log first (idempotent by event id, group-committed with
/// other customers' rows by the silo's writer), then applied to the bounded in-memory state. The log is the truth:
/// the state's snapshot is a cache, written in batches off the answer's path (CustomerGrain.Persistence.cs), and an
/// activation replays the log rows above the snapshot's <see cref="CustomerState.AppliedSequence"/>, so the state
/// always converges to the log. One file per role of <see cref="ICustomerGrain"/>: <c>.Recording</c>, <c>.Reading</c>,
/// <c>.Segments</c>, <c>.Campaigns</c>, <c>.Identity</c>; <c>.Persistence</c> (snapshot, commits) and <c>.Live</c>
/// (watches) serve them all. This file holds activation and the one effects dispatcher.
/// </summary>
[GrainType("customer")]
public sealed partial class CustomerGrain(
    ICustomerWriter writer,
    Orleans.Serialization.Serializer<CustomerState> serializer,
    ICustomerLog log,
    IContactIndex contactIndex,
    ICampaignActionStore actions,
    OrleansCrm.Api.IKeptAnswerIndex keptAnswers,
    OrleansCrm.Segments.ISegmentStore segmentStore,
    DecisionCatalog decisions,
    TimeProvider clock,
    ILogger<CustomerGrain> logger) : Grain, ICustomerGrain, ICustomerLiveGrain, IRemindable, IIncomingGrainCallFilter
{
    /// <summary>An activation of a customer that does not exist does not stay: a customer may be created straight in
    /// the log (an import's bulk path, <see cref="ICustomerWriter.CreateAsync"/>), and a lingering empty activation would
    /// keep answering "not found" for it.</summary>
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var reads = StateReads.Contains(context.MethodName);
        try
        {
            if (!reads)
            {
                ForgetEncodedView();
            }

            // Every call sees the state as the log has it: after a failed write the state is re-read first, here for all
            // methods at once rather than in each (the unit check below needs it too). Not for the one call that
            // interleaves with the others, which only reads the unit.
            if (context.MethodName != nameof(PeekOrgUnitAsync))
            {
                await RefreshIfStaleAsync();
            }

            // The unit rule, here rather than only in the gateway, so every path that reaches a customer obeys it:
            // a caller of a unit finds a customer of another unit exactly as it finds a missing one.
            if (!CallerReach.Reaches(S.OrgUnit) && S.Exists && S.MergedInto is null && !ReachCheckedInside.Contains(context.MethodName))
            {
                throw new CustomerNotFoundException(Id);
            }

            await context.Invoke();
        }
        finally
        {
            if (!reads)
            {
                ForgetEncodedView();
            }

            if (!S.Exists && S.MergedInto is null)
            {
                this.DeactivateOnIdle();
            }
        }
    }

    /// <summary>Methods that apply the unit rule themselves: the unit is what callers ask before deciding;
    /// a campaign's decision checks the campaign's unit; segment housekeeping and previews answer a foreign customer as
    /// a missing one or a non-member.</summary>
    private static readonly HashSet<string> ReachCheckedInside = new(StringComparer.Ordinal)
    {
        nameof(GetOrgUnitAsync), nameof(PeekOrgUnitAsync), nameof(DecideCampaignAsync), nameof(ReevaluateSegmentsAsync), nameof(ListInStaticSegmentAsync), nameof(MatchesAsync),
    };

    /// <summary>True while this activation has served only segment housekeeping (a backfill, a list upload, a
    /// preview, the clock): it then deactivates when idle, so walking a million customers does not keep a million
    /// activations in memory.</summary>
    private bool _housekeepingOnly = true;

    private CustomerState S => _state;
    private string Id => CustomerKeys.CustomerId(this.GetPrimaryKeyString());

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Failing the activation (the caller sees an error and retries) beats applying events without the rules.
        await decisions.WhenLoadedAsync(TimeSpan.FromSeconds(30));
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ActivateFromStorageAsync();
                break;
            }
            catch (Orleans.Storage.InconsistentStateException) when (attempt < 3)
            {
                // An activation that is going away (on a silo that died mid-commit, or during a directory hand-over) wrote
                // after this one read: read again rather than fail the call that woke this customer.
                logger.LogInformation("Customer {CustomerId} was written by another activation while activating; reading it again", Id);
                _stale = false;
                _behindLog = 0;
            }
        }

        _conflicts = null;

        await DispatchEffectsAsync();
    }

    private async Task ActivateFromStorageAsync()
    {
        await LoadAsync();
        await CatchUpAsync();

        // Definitions may have changed, or time moved a time-based condition, since this customer was last active.
        var now = clock.GetUtcNow();
        var changed = S.Exists && S.MergedInto is null && EvaluateSegments(now, decisions.Current);
        var scheduled = S.NextSegmentCheck;
        await ScheduleSegmentClockAsync(now);
        if (changed || scheduled != S.NextSegmentCheck)
        {
            await WriteAsync(claimContacts: true);
        }
        else
        {
            // Claims a replay found (or an earlier activation could not store) ride in a commit of their own, unless
            // they wait for the snapshot.
            if (!_claimsDeferred)
            {
                await IndexContactsAsync();
            }
        }
    }

    /// <summary>
    /// The one place a customer's effects leave it. The state carries three outboxes, each written with the change
    /// that filled it: campaign actions decided but not yet emitted, campaigns a rule triggered, and segment joins and
    /// leaves. Every path that changed the state calls this once after its write; it drains them in that order (emitting
    /// an action folds its contact into the state, whose rules may trigger further campaigns and move segments, so the
    /// triggers loop until none is left and the segment messages go last). Each receiver is idempotent, so a dispatch
    /// repeated after a crash (at activation, or by the outbox reminder) sends nothing twice.
    /// </summary>
    private async Task DispatchEffectsAsync()
    {
        await EmitCampaignActionsAsync();
        await ProcessTriggersAsync();
        await DeliverSegmentMessagesAsync();
    }

    private void ReleaseIfHousekeepingOnly()
    {
        if (_housekeepingOnly)
        {
            DeactivateOnIdle();
        }
    }

    private void MarkExists(DateTimeOffset now)
    {
        if (!S.Exists)
        {
            S.Exists = true;
            S.CreatedAt = now;
        }

        S.UpdatedAt = now;
    }
}
