using System.Globalization;
using Microsoft.Extensions.Logging;
using OrleansCrm.Campaigns;
using OrleansCrm.Decisions;

namespace OrleansCrm.Customers;

/// <summary>
/// One customer. Every change is an event: appended to the log first (idempotent by event id, group-committed with
/// other customers' rows by the silo's writer), then applied to the bounded in-memory state. The log is the truth:
/// the state's snapshot is a cache, written in batches off the answer's path (CustomerGrain.Persistence.cs), and an
/// activation replays the log rows above the snapshot's <see cref="CustomerState.AppliedSequence"/>, so the state
/// always converges to the log.
/// </summary>
[GrainType("customer")]
public sealed partial class CustomerGrain(
    ICustomerWriter writer,
    Orleans.Serialization.Serializer<CustomerState> serializer,
    ICustomerLog log,
    IContactIndex contactIndex,
    ICampaignActionStore actions,
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
        try
        {
            await context.Invoke();
        }
        finally
        {
            if (!S.Exists && S.MergedInto is null)
            {
                this.DeactivateOnIdle();
            }
        }
    }

    private const string SegmentClockReminder = "segment-clock";
    private const string SegmentOutboxReminder = "segment-outbox";
    private static readonly TimeSpan SegmentHorizon = TimeSpan.FromDays(400);
    private static readonly TimeSpan SegmentPrecision = TimeSpan.FromSeconds(30);
    private IGrainTimer? _segmentTimer;

    private const int ReplayPage = 500;

    /// <summary>True while this activation has served only segment housekeeping (a backfill, a list upload, a
    /// preview, the clock): it then deactivates when idle, so walking a million customers does not keep a million
    /// activations in memory.</summary>
    private bool _housekeepingOnly = true;

    /// <summary>Whether a <see cref="SegmentOutboxReminder"/> is known to be registered.</summary>
    private bool _outboxReminder;

    private bool _processingTriggers;

    private CustomerState S => _state;

    private string Id => CustomerKeys.CustomerId(this.GetPrimaryKeyString());

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Failing the activation (the caller sees an error and retries) beats applying events without the rules.
        await decisions.WhenLoadedAsync(TimeSpan.FromSeconds(30));
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

        _conflicts = null;

        await DeliverSegmentMessagesAsync();
        await EmitCampaignActionsAsync();
        await ProcessTriggersAsync();
    }

    public async Task<int> ReevaluateSegmentsAsync(long segmentsVersion)
    {
        var sent = await ReevaluateAsync(segmentsVersion, durableRetry: false);
        ReleaseIfHousekeepingOnly();
        return sent;
    }

    public async Task<string?> ListInStaticSegmentAsync(string segmentId, long stamp)
    {
        await RefreshIfStaleAsync();
        if (!S.Exists || S.MergedInto is not null || S.Erasure is not null)
        {
            // A merged customer's list entry belongs to the survivor; an erased customer is listed nowhere.
            var holder = S.MergedInto is { } survivor ? await GrainFactory.GetCustomer(survivor).ListInStaticSegmentAsync(segmentId, stamp) : null;
            ReleaseIfHousekeepingOnly();
            return holder;
        }

        var stamps = S.StaticLists.GetValueOrDefault(segmentId) ?? [];
        if (!stamps.Contains(stamp))
        {
            // The two latest uploads: members of the current list stay members while a new list is being applied.
            S.StaticLists[segmentId] = [.. stamps.Append(stamp).OrderDescending().Take(2)];
            EvaluateSegments(clock.GetUtcNow(), decisions.Current);
            await WriteAsync();
            await DeliverSegmentMessagesAsync();
        }

        ReleaseIfHousekeepingOnly();
        return Id;
    }

    public async Task<bool?> MatchesAsync(string expression)
    {
        await RefreshIfStaleAsync();
        bool? matches = S.MergedInto is not null || !S.Exists || S.Erasure is not null
            ? null
            : OrleansCrm.Segments.SegmentExpression.Parse(expression).Evaluate(CustomerDecisions.Facts(S, null, clock.GetUtcNow(), decisions.Current));
        ReleaseIfHousekeepingOnly();
        return matches;
    }

    public async Task<CampaignDecisionResult> DecideCampaignAsync(CampaignStep campaignStep)
    {
        var step = campaignStep;
        await RefreshIfStaleAsync();
        if (S.MergedInto is { } survivor)
        {
            ReleaseIfHousekeepingOnly();
            return await GrainFactory.GetCustomer(survivor).DecideCampaignAsync(step);
        }

        if (!S.Exists)
        {
            ReleaseIfHousekeepingOnly();
            return new(ContactOutcomes.Suppressed, "unknown-customer", null, Repeat: false);
        }

        if (S.Erasure is not null)
        {
            ReleaseIfHousekeepingOnly();
            return new(ContactOutcomes.Suppressed, "erased", null, Repeat: false);
        }

        var result = await DecideStepAsync(step);
        ReleaseIfHousekeepingOnly();
        return result;
    }

    /// <summary>Decides a campaign step (or answers the recorded decision), writes it, and emits the action.</summary>
    private async Task<CampaignDecisionResult> DecideStepAsync(CampaignStep step)
    {
        var key = $"{step.CampaignId}/{step.StepId}";
        if (S.CampaignDecisions.TryGetValue(key, out var recorded))
        {
            await EmitCampaignActionsAsync();
            return new(recorded.Outcome, recorded.Reason, recorded.Channel, Repeat: true);
        }

        var now = clock.GetUtcNow();
        var campaign = step.Definition;
        if (step.Branch is { } branch && Branch(step.CampaignId, branch) is { } off)
        {
            // Not on this follow-up's branch: recorded, so a repeated call answers the same.
            S.CampaignDecisions[key] = new CampaignDecisionRecord(step.CampaignId, step.StepId, ContactOutcomes.Suppressed, off, null, now,
                DateOnly.FromDateTime(now.UtcDateTime), campaign.Priority, Pending: false, null, null, false, null);
            await WriteAsync();
            return new(ContactOutcomes.Suppressed, off, null, Repeat: false);
        }

        var zone = ContactPolicy.TimeZoneOf(S, campaign);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        var decision = (campaign.ExcludeSegments ?? []).FirstOrDefault(S.Segments.Contains) is { } excluded
            ? new ContactDecision(ContactOutcomes.Suppressed, "excluded-segment", null)
            : ContactPolicy.Decide(
                S,
                Id,
                step.CampaignId,
                campaign,
                [.. S.CampaignDecisions.Values
                    .Where(r => r.LocalDay == today && r.CampaignId != step.CampaignId && r.Outcome is ContactOutcomes.Send or ContactOutcomes.Defer)
                    .Select(r => new CampaignClaim(r.CampaignId, r.Priority, r.Outcome == ContactOutcomes.Send))],
                now);
        var contact = decision.Outcome is ContactOutcomes.Send or ContactOutcomes.Defer;
        RenderedMessage? message = null;
        if (contact && campaign.Templates?.GetValueOrDefault(decision.Channel!) is { } template)
        {
            message = MessageTemplates.Render(template, CustomerAggregate.View(S, Id, now, decisions.Current), step.CampaignId, campaign.Name, campaign.OfferId, step.OfferName);
        }
        else if (contact)
        {
            // The customer's preferred channel was chosen but the campaign wrote no message for it.
            decision = decision with { Outcome = ContactOutcomes.Suppressed, Reason = "no-template", NotBefore = null };
            contact = false;
        }

        S.CampaignDecisions[key] = new CampaignDecisionRecord(
            step.CampaignId, step.StepId, decision.Outcome, decision.Reason, decision.Channel, now, today, campaign.Priority,
            Pending: contact || decision.Outcome == ContactOutcomes.Control, message?.Subject, message?.Body, message?.Html ?? false, decision.NotBefore, step.Segment,
            contact ? campaign.OfferId : null, contact && campaign.OfferId is not null ? (decision.NotBefore ?? now).AddDays(campaign.AttributionDays) : null);
        PruneCampaignDecisions(now);
        if (S.CampaignDecisions[key].Pending)
        {
            // The decision, its contact in the log and its action are stored in one commit.
            await EmitCampaignActionsAsync();
        }
        else
        {
            await WriteAsync();
        }

        return new(decision.Outcome, decision.Reason, decision.Channel, Repeat: false);
    }

    /// <summary>Starts each campaign a rule triggered for this customer: a triggered campaign that is running gives
    /// its step, and the customer decides it for itself, keyed by the event that fired the rule, so a replayed or
    /// retried event triggers it once. A trigger for a campaign that is not running is dropped.</summary>
    private async Task ProcessTriggersAsync()
    {
        if (_processingTriggers)
        {
            // Emitting a triggered action records an event, which comes back here: the outer loop takes the rest.
            return;
        }

        _processingTriggers = true;
        try
        {
            await ProcessPendingTriggersAsync();
        }
        finally
        {
            _processingTriggers = false;
        }
    }

    private async Task ProcessPendingTriggersAsync()
    {
        while (S.PendingTriggers.Count > 0)
        {
            var trigger = S.PendingTriggers[0];
            var campaign = GrainFactory.GetGrain<ICampaignGrain>(trigger.CampaignId);
            var step = await campaign.GetTriggerStepAsync();
            S.PendingTriggers.RemoveAt(0);
            if (step is null)
            {
                logger.LogInformation("Campaign {CampaignId} triggered for customer {CustomerId} is not running; trigger dropped", trigger.CampaignId, Id);
                await WriteAsync();
                continue;
            }

            // The trigger's removal is written with the decision; the event's id makes the step unique.
            var result = await DecideStepAsync(step with { StepId = $"{step.StepId}-t-{trigger.EventId}" });
            if (!result.Repeat)
            {
                try
                {
                    await campaign.RecordTriggeredAsync(result);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The action is safe; only the campaign's counter misses this customer.
                    logger.LogWarning(e, "Campaign {CampaignId} did not count the decision of customer {CustomerId}", trigger.CampaignId, Id);
                }
            }
        }
    }

    /// <summary>Why this customer is not on a journey follow-up's branch, or null when it is: it must have been
    /// contacted by the journey's first message, and have responded since (or not), as the step asks.</summary>
    private string? Branch(string campaignId, JourneyBranch branch)
    {
        if (!S.CampaignDecisions.TryGetValue($"{campaignId}/{branch.EntryStepId}", out var entry)
            || entry.Outcome is not (ContactOutcomes.Send or ContactOutcomes.Defer))
        {
            return "not-in-journey";
        }

        var since = entry.At;
        var responded = S.Totals.LastPurchaseAt > since
            || S.RecentContacts.Any(c => c.OccurredAt > since && c.Type is CustomerEventTypes.EmailClicked or CustomerEventTypes.CallInbound)
            || S.OfferAnswers.Values.Any(a => a.Outcome == "accepted" && a.At > since);
        return (branch.When, responded) switch
        {
            ("responded", false) => "branch-not-responded",
            ("notResponded", true) => "branch-responded",
            _ => null,
        };
    }

    /// <summary>Emits every decided contact whose action is not yet in the outbox, in one commit: the contacts go into
    /// the log (event id <c>campaign/&lt;campaign&gt;/&lt;step&gt;</c>), the actions into the outbox (idempotency key
    /// <c>campaign/step/customer</c>) and the snapshot, in which the decisions are no longer pending and their messages
    /// are dropped. Rows are idempotent by key and the commit is atomic, so a crash leaves either everything or the
    /// decision still pending (the next call or activation emits it), never an action twice.</summary>
    private async Task EmitCampaignActionsAsync()
    {
        var pending = S.CampaignDecisions.Where(kv => kv.Value.Pending).ToList();
        if (pending.Count == 0)
        {
            return;
        }

        var contacts = new List<CustomerEvent>(pending.Count);
        var outbox = new List<CampaignAction>(pending.Count);
        foreach (var (key, record) in pending)
        {
            // The control group is written to the log too (nothing is sent), so responses can be compared.
            var holdout = record.Outcome == ContactOutcomes.Control;
            contacts.Add(new CustomerEvent($"campaign/{key}", holdout ? CustomerEventTypes.CampaignHoldout : CustomerEventTypes.CampaignContact, record.At, "campaign", record.Channel,
                new EventData(Subject: record.Subject, Campaign: record.CampaignId, Segment: record.Segment)));
            if (!holdout)
            {
                outbox.Add(new CampaignAction(
                    0, $"{key}/{Id}", record.CampaignId, record.StepId, Id, record.Channel!, record.Subject, record.Body ?? "", record.Html, record.NotBefore, record.At, "pending", record.Priority));
            }

            S.CampaignDecisions[key] = record with { Pending = false, Subject = null, Body = null };
        }

        var committed = await CommitAsync(contacts, outbox, withSnapshot: true);
        await ApplyAppendedAsync(contacts, committed.Appends, merging: false, persist: false);
    }

    private void PruneCampaignDecisions(DateTimeOffset now)
    {
        var old = S.CampaignDecisions.Where(kv => !kv.Value.Pending && kv.Value.At < now.AddDays(-400)).Select(kv => kv.Key).ToList();
        old.ForEach(k => S.CampaignDecisions.Remove(k));
        foreach (var key in S.CampaignDecisions.Where(kv => !kv.Value.Pending).OrderBy(kv => kv.Value.At).Take(Math.Max(0, S.CampaignDecisions.Count - 1000)).Select(kv => kv.Key).ToList())
        {
            S.CampaignDecisions.Remove(key);
        }
    }

    private async Task<int> ReevaluateAsync(long segmentsVersion, bool durableRetry)
    {
        await RefreshIfStaleAsync();
        await decisions.EnsureSegmentsAsync(segmentsVersion);
        if (!S.Exists || S.MergedInto is not null)
        {
            return 0;
        }

        var before = S.SegmentSequence;
        var now = clock.GetUtcNow();
        var changed = EvaluateSegments(now, decisions.Current);
        if (changed && durableRetry)
        {
            // Nobody waits on this call to retry it: make sure the messages are delivered even if this silo dies
            // right after the write.
            await EnsureOutboxReminderAsync();
        }

        var scheduled = S.NextSegmentCheck;
        await ScheduleSegmentClockAsync(now);
        if (changed || scheduled != S.NextSegmentCheck)
        {
            await WriteAsync();
        }

        await DeliverSegmentMessagesAsync();
        return (int)(S.SegmentSequence - before);
    }

    private void ReleaseIfHousekeepingOnly()
    {
        if (_housekeepingOnly)
        {
            DeactivateOnIdle();
        }
    }

    public Task<RecordResult> UpsertProfileAsync(CustomerProfile profile, string changeId, string? source) =>
        UpsertProfileAsync(profile, changeId, source, null);

    public async Task<RecordResult> UpsertProfileAsync(CustomerProfile profile, string changeId, string? source, OrleansCrm.Access.AuditEntry? audit) =>
        WithView(await RecordAsync(
            [new CustomerEvent(changeId, CustomerEventTypes.ProfileChanged, clock.GetUtcNow(), source, null, new EventData(Profile: profile))],
            new RecordOptions(CreateIfMissing: true, audit)));

    public Task<RecordResult> RecordEventsAsync(CustomerEvent[] events, bool createIfMissing) => RecordEventsAsync(events, createIfMissing, null);

    public async Task<RecordResult> RecordEventsAsync(CustomerEvent[] events, bool createIfMissing, OrleansCrm.Access.AuditEntry? audit) =>
        WithView(await RecordAsync(events, new RecordOptions(createIfMissing, audit)));

    private static RecordResult WithView(RecordOutcome outcome) => new(outcome.CustomerId, outcome.Acks, outcome.View!, outcome.Conflicts);

    public async Task<RecordOutcome> RecordAsync(CustomerEvent[] events, RecordOptions options)
    {
        var (createIfMissing, audit) = (options.CreateIfMissing, options.Audit);
        _housekeepingOnly = false;
        await RefreshIfStaleAsync();
        if (S.MergedInto is { } survivor)
        {
            // Ids are rewritten as the merge rewrote the absorbed history, so a retry still finds its original.
            var forwarded = events.Select(e => e with { EventId = $"{Id}/{e.EventId}" }).ToArray();
            return await GrainFactory.GetCustomer(survivor).RecordAsync(forwarded, options with { CreateIfMissing = true });
        }

        if (!S.Exists && !createIfMissing)
        {
            throw new CustomerNotFoundException(Id);
        }

        if (S.Erasure is not null)
        {
            // Closed for good: any event could bring personal data back (docs/privacy.md).
            throw new CustomerRuleException("customerId", $"customer '{Id}' was erased and accepts no further events");
        }

        var now = clock.GetUtcNow();
        foreach (var e in events)
        {
            var errors = CustomerEventRules.Validate(e, now);
            if (errors.Count > 0)
            {
                var (field, problems) = errors.First();
                throw new CustomerRuleException(field, $"{field} {problems[0]}");
            }
        }

        var distinct = events.DistinctBy(e => e.EventId, StringComparer.Ordinal).ToList();
        var appended = (await CommitAsync(distinct, [], withSnapshot: false, audit)).Appends;

        // Acknowledged once the log rows are committed; the snapshot follows later, in a batch.
        var applied = await ApplyAppendedAsync(distinct, appended, merging: false, persist: false);
        // Also on a retry: the first attempt may have failed between its log rows and its claims.
        var conflicts = _claimsDeferred && !distinct.Any(e => e.Type == CustomerEventTypes.ProfileChanged) ? [] : await IndexContactsAsync();
        if (applied.Count == 0)
        {
            // A retry of a call whose outcome was unknown: finish what the first attempt may have left undelivered.
            await DeliverSegmentMessagesAsync();
        }


        var acks = new List<EventAck>(events.Length);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var bySequence = appended.ToDictionary(a => a.EventId, StringComparer.Ordinal);
        foreach (var e in events)
        {
            var first = seen.Add(e.EventId);
            acks.Add(new EventAck(e.EventId, bySequence[e.EventId].Sequence, Duplicate: !first || !applied.Contains(e.EventId)));
        }

        return new RecordOutcome(Id, [.. acks], conflicts, options.ReturnView ? CustomerAggregate.View(S, Id, now, decisions.Current) : null);
    }

    public async Task<CustomerView?> GetViewAsync()
    {
        _housekeepingOnly = false;
        await RefreshIfStaleAsync();
        if (S.MergedInto is { } survivor)
        {
            return await GrainFactory.GetCustomer(survivor).GetViewAsync();
        }

        return S.Exists ? CustomerAggregate.View(S, Id, clock.GetUtcNow(), decisions.Current) : null;
    }

    public async Task<string?> GetOrgUnitAsync()
    {
        await RefreshIfStaleAsync();
        if (S.MergedInto is { } survivor)
        {
            return await GrainFactory.GetCustomer(survivor).GetOrgUnitAsync();
        }

        return S.Exists ? S.OrgUnit ?? "" : null;
    }

    public async Task<NextBestAction[]> GetNextBestActionsAsync()
    {
        _housekeepingOnly = false;
        if (S.MergedInto is { } survivor)
        {
            return await GrainFactory.GetCustomer(survivor).GetNextBestActionsAsync();
        }

        if (!S.Exists)
        {
            throw new CustomerNotFoundException(Id);
        }

        var now = clock.GetUtcNow();
        var snapshot = decisions.Current;
        return CustomerDecisions.NextBestActions(S, now, snapshot, CustomerDecisions.Scores(S, now, snapshot));
    }

    public async Task<HistoryPage> GetHistoryAsync(string? cursor, int limit)
    {
        _housekeepingOnly = false;
        if (S.MergedInto is { } survivor)
        {
            return await GrainFactory.GetCustomer(survivor).GetHistoryAsync(cursor, limit);
        }

        if (!S.Exists)
        {
            throw new CustomerNotFoundException(Id);
        }

        var before = HistoryCursor.Parse(cursor);
        limit = Math.Clamp(limit, 1, 500);
        var rows = await log.ReadPageAsync(Id, before, limit + 1);
        var items = rows.Take(limit)
            .Select(r => new HistoryItem(r.Sequence, r.Event.EventId, r.CustomerId, r.Event.Type, r.Event.OccurredAt, r.RecordedAt, r.Event.Source, r.Event.Channel, r.Event.Data))
            .ToArray();
        var next = rows.Count > limit ? HistoryCursor.Format(items[^1].OccurredAt, items[^1].Sequence) : null;
        return new HistoryPage(items, next);
    }

    public async Task<MergeResult> MergeAsync(string otherCustomerId)
    {
        _housekeepingOnly = false;
        await RefreshIfStaleAsync();
        if (otherCustomerId == Id)
        {
            throw new CustomerRuleException("otherCustomerId", "a customer cannot be merged into itself");
        }

        if (S.MergedInto is { } survivor)
        {
            throw new CustomerRuleException("customerId", $"customer '{Id}' was merged into '{survivor}'; merge into that one");
        }

        if (!S.Exists)
        {
            throw new CustomerNotFoundException(Id);
        }

        if (S.Erasure is not null)
        {
            throw new CustomerRuleException("customerId", $"customer '{Id}' was erased; it cannot absorb another customer");
        }

        var handOver = await GrainFactory.GetCustomer(otherCustomerId).HandOverAsync(Id);
        var absorbed = 0;
        foreach (var key in handOver.LogKeys)
        {
            long after = 0;
            while (true)
            {
                var rows = await log.ReadAfterAsync(key, after, ReplayPage);
                if (rows.Count == 0)
                {
                    break;
                }

                var copies = rows.Select(r => r.Event with { EventId = $"{key}/{r.Event.EventId}" }).ToList();
                var appended = await log.AppendAsync(Id, copies, originCustomerId: key);
                absorbed += (await ApplyAppendedAsync(copies, appended, merging: true, persist: true)).Count;
                after = rows[^1].Sequence;
                if (rows.Count < ReplayPage)
                {
                    break;
                }
            }
        }

        if (!S.MergedFrom.Contains(otherCustomerId))
        {
            S.MergedFrom.Add(otherCustomerId);
            S.UpdatedAt = clock.GetUtcNow();
            await WriteAsync();
        }

        var handedKeys = ContactPoints.Keys(handOver.Emails, handOver.Phones, handOver.ExternalIds).ToList();
        await contactIndex.ReassignAsync(handedKeys, otherCustomerId, Id);
        S.IndexedContacts.UnionWith(handedKeys);

        logger.LogInformation("Customer {Other} merged into {Survivor}: {Events} events absorbed", otherCustomerId, Id, absorbed);
        return new MergeResult(Id, otherCustomerId, absorbed, CustomerAggregate.View(S, Id, clock.GetUtcNow(), decisions.Current));
    }

    public async Task<HandOver> HandOverAsync(string survivorId)
    {
        _housekeepingOnly = false;
        await RefreshIfStaleAsync();
        if (!S.Exists)
        {
            throw new CustomerNotFoundException(Id);
        }

        if (S.MergedInto is { } existing && existing != survivorId)
        {
            throw new CustomerRuleException("otherCustomerId", $"customer '{Id}' was already merged into '{existing}'");
        }

        if (S.Erasure is not null)
        {
            throw new CustomerRuleException("otherCustomerId", $"customer '{Id}' was erased; it cannot be merged");
        }

        if (S.MergedFrom.Contains(survivorId))
        {
            throw new CustomerRuleException("otherCustomerId", $"customer '{survivorId}' was merged into '{Id}'; it cannot absorb it back");
        }

        if (S.MergedInto is null)
        {
            S.MergedInto = survivorId;
            S.UpdatedAt = clock.GetUtcNow();
            await WriteAsync();
        }

        return new HandOver(Id, [Id], [.. S.Emails.Keys], [.. S.Phones.Keys], new Dictionary<string, string>(S.ExternalIds, StringComparer.Ordinal));
    }

    public async Task<CustomerExport> ExportAsync()
    {
        _housekeepingOnly = false;
        await RefreshIfStaleAsync();
        if (S.MergedInto is { } survivor)
        {
            return await GrainFactory.GetCustomer(survivor).ExportAsync();
        }

        if (!S.Exists)
        {
            throw new CustomerNotFoundException(Id);
        }

        string[] ids = [Id, .. S.MergedFrom];
        var held = await actions.ForCustomersAsync(ids);
        var memberships = await segmentStore.MembershipsAsync(ids);
        return new CustomerExport(CustomerAggregate.View(S, Id, clock.GetUtcNow(), decisions.Current), [.. held], [.. memberships], [.. S.MergedFrom]);
    }

    public async Task<ErasureReport> EraseAsync(string? reason)
    {
        _housekeepingOnly = false;
        await RefreshIfStaleAsync();
        if (S.MergedInto is { } survivor)
        {
            // The same person: erasing either id erases the survivor and everything merged into it.
            return await GrainFactory.GetCustomer(survivor).EraseAsync(reason);
        }

        if (!S.Exists)
        {
            throw new CustomerNotFoundException(Id);
        }

        if (S.Erasure?.Report is { } done)
        {
            return done;
        }

        // 1. The state, first: from this write on the customer accepts no events and belongs to no segment. The
        // erasure is an event in the log too, so a state rebuilt from the log is anonymised again.
        var now = clock.GetUtcNow();
        S.Erasure ??= new ErasureRecord(now, reason, null);
        var erased = new CustomerEvent("erasure", CustomerEventTypes.CustomerErased, S.Erasure.At, CustomerRedaction.ErasureSource, null, EventData.Empty);
        var appended = await log.AppendAsync(Id, [erased]);
        if (appended[0].Sequence > S.AppliedSequence)
        {
            CustomerAggregate.Apply(S, erased, now);
            S.AppliedSequence = appended[0].Sequence;
            CountApplied();
        }

        CustomerRedaction.Anonymise(S, S.Erasure.At);
        var memberBefore = S.Segments.Count;
        EvaluateSegments(now, decisions.Current);
        var segmentsLeft = memberBefore - S.Segments.Count;
        S.UpdatedAt = now;
        await ScheduleSegmentClockAsync(now);
        await WriteAsync();
        await DeliverSegmentMessagesAsync();

        // 2. Every customer merged into this one (and into those), whose states still hold their own copies.
        var ids = new List<string> { Id };
        foreach (var merged in S.MergedFrom)
        {
            var forgotten = await GrainFactory.GetCustomer(merged).ForgetAsync(Id);
            ids.AddRange(forgotten.CustomerIds.Where(id => !ids.Contains(id)));
        }

        // 3. The lookup index (every claim of every id), the log payloads and the action outbox; each step is
        // idempotent, so a retry after a failure here completes what this call started.
        var released = await contactIndex.ReleaseAllAsync(ids);
        var logRows = 0;
        foreach (var id in ids)
        {
            logRows += await log.RedactAsync(id, CustomerRedaction.Redact);
        }

        var blanked = await actions.BlankAsync(ids);

        var report = new ErasureReport(Id, S.Erasure.At, logRows, released, segmentsLeft, blanked);
        S.Erasure = S.Erasure with { Report = report };
        S.IndexedContacts.Clear();
        await WriteAsync();
        logger.LogInformation("Customer {CustomerId} erased: {LogRows} log rows redacted, {Contacts} contact points released, {Segments} segments left, {Actions} actions blanked",
            Id, logRows, report.ContactPointsReleased, segmentsLeft, blanked);
        return report;
    }

    public async Task<ForgottenCustomer> ForgetAsync(string survivorId)
    {
        _housekeepingOnly = false;
        await RefreshIfStaleAsync();
        if (S.MergedInto != survivorId)
        {
            throw new CustomerRuleException("customerId", $"customer '{Id}' was not merged into '{survivorId}'");
        }

        var ids = new List<string> { Id };
        if (S.Erasure is null || S.IndexedContacts.Count > 0)
        {
            CustomerRedaction.Anonymise(S, clock.GetUtcNow());
            S.IndexedContacts.Clear();
            S.UpdatedAt = clock.GetUtcNow();
            await WriteAsync();
        }

        foreach (var merged in S.MergedFrom)
        {
            var forgotten = await GrainFactory.GetCustomer(merged).ForgetAsync(Id);
            ids.AddRange(forgotten.CustomerIds.Where(id => !ids.Contains(id)));
        }

        // The survivor releases the lookup index by customer id: no contact points to hand back.
        return new ForgottenCustomer([.. ids], []);
    }

    /// <summary>Applies the events the log newly accepted (or left unapplied by a failed write). With
    /// <paramref name="persist"/> the snapshot is written before the effects leave; without, it is only marked as
    /// behind the log and written later in a batch (the log rows already make the events durable, and every effect
    /// below is idempotent or re-derived by replay). Returns the ids applied.</summary>
    private async Task<HashSet<string>> ApplyAppendedAsync(IReadOnlyList<CustomerEvent> events, IReadOnlyList<LogAppend> appended, bool merging, bool persist)
    {
        var byId = events.ToDictionary(e => e.EventId, StringComparer.Ordinal);
        var now = clock.GetUtcNow();
        var applied = new HashSet<string>(StringComparer.Ordinal);
        var snapshot = decisions.Current;
        foreach (var a in appended.Where(a => !a.Existed || a.Sequence > S.AppliedSequence).OrderBy(a => a.Sequence))
        {
            Apply(byId[a.EventId], now, merging, snapshot);
            S.AppliedSequence = Math.Max(S.AppliedSequence, a.Sequence);
            CountApplied();
            applied.Add(a.EventId);
        }

        if (applied.Count > 0)
        {
            MarkExists(now);
            EvaluateSegments(now, snapshot);
            await ScheduleSegmentClockAsync(now);
            if (persist)
            {
                await WriteAsync();
            }
            else
            {
                await MarkBehindLogAsync();
            }

            await PublishChangeAsync(events.Where(e => applied.Contains(e.EventId)));
            await DeliverSegmentMessagesAsync();
            await ReportOfferOutcomesAsync(events.Where(e => applied.Contains(e.EventId)), merging, snapshot);
            await ProcessTriggersAsync();
        }

        return applied;
    }

    private async Task CatchUpAsync()
    {
        var changed = false;
        var existed = S.Exists;
        var now = clock.GetUtcNow();
        while (true)
        {
            var rows = _unreplayed ?? await log.ReadAfterAsync(Id, S.AppliedSequence, ReplayPage);
            _unreplayed = null;
            foreach (var row in rows)
            {
                Apply(row.Event, now, merging: row.OriginCustomerId is not null, decisions.Current);
                S.AppliedSequence = row.Sequence;
                CountApplied();
                changed = true;
            }

            if (rows.Count < ReplayPage)
            {
                break;
            }
        }

        if (changed)
        {
            if (existed)
            {
                // The snapshot lags the log after a crash (or a lost snapshot write): the segment shards may hold
                // joins or leaves that neither the snapshot nor the replay shows, so every segment is told again.
                logger.LogInformation("Customer {CustomerId} replayed log entries its snapshot had not seen", Id);
                _recoveredAt = S.AppliedSequence;
            }
            else
            {
                // History loaded straight into the log (a bulk load): the customer is built from it on first use.
                logger.LogDebug("Customer {CustomerId} built from its log", Id);
            }
            MarkExists(now);
            EvaluateSegments(now, decisions.Current);
            if (existed)
            {
                ResendMembership(decisions.Current);
            }

            if (existed || S.SegmentOutbox.Count > 0 || S.PendingTriggers.Count > 0)
            {
                await WriteAsync(claimContacts: true);
            }
            else
            {
                // Built from its log with nothing to send: the snapshot and the lookup claims (a bulk load made them
                // already, or they wait a few seconds) follow off the answer's path, like any lagging snapshot.
                _claimsDeferred = true;
                await MarkBehindLogAsync();
            }
        }
    }

    /// <summary>Set while this customer's lookup claims wait for its next snapshot write (a customer built from its
    /// log); a profile change claims at once.</summary>
    private bool _claimsDeferred;

    /// <summary>One more log row folded into the state since the stored snapshot.</summary>
    private void CountApplied()
    {
        if (_appliedSince >= 0)
        {
            _appliedSince++;
        }
    }

    /// <summary>Folds one event into the state and, unless it is history absorbed in a merge (whose rules fired
    /// on the original customer), runs the rule base on it. Rule effects are part of the same state write as the
    /// event, so a rule fires exactly once per recorded event.</summary>
    private void Apply(CustomerEvent e, DateTimeOffset now, bool merging, DecisionSnapshot snapshot)
    {
        CustomerAggregate.Apply(S, e, now, merging);
        if (!merging)
        {
            foreach (var firing in CustomerDecisions.FireRules(S, e, now, snapshot))
            {
                logger.LogInformation("Rule {RuleId} fired for customer {CustomerId} on event {EventId}", firing.RuleId, Id, firing.EventId);
            }
        }
    }

    /// <summary>
    /// Re-evaluates every segment definition against the current state; each join or leave becomes a message in
    /// the outbox, written with the state, so it cannot be lost between this write and the segment's.
    /// </summary>
    private bool EvaluateSegments(DateTimeOffset now, DecisionSnapshot snapshot)
    {
        var segments = snapshot.Segments ?? [];
        var facts = CustomerDecisions.Facts(S, null, now, snapshot);
        var changed = false;
        void Emit(string segmentId, bool member)
        {
            if (member)
            {
                S.Segments.Add(segmentId);
            }
            else
            {
                S.Segments.Remove(segmentId);
            }

            S.SegmentOutbox.Add(new SegmentMessage(segmentId, member, NextSegmentSequence()));
            changed = true;
        }

        foreach (var segment in segments)
        {
            // An erased customer leaves every segment and joins none; a segment reaches only its unit's subtree.
            var member = S.Erasure is null && segment.Reaches(S.OrgUnit) && (segment.ListStamp is { } stamp
                ? S.StaticLists.TryGetValue(segment.Id, out var stamps) && stamps.Contains(stamp)
                : segment.Expression!.Evaluate(facts));
            if (member != S.Segments.Contains(segment.Id))
            {
                Emit(segment.Id, member);
            }
        }

        foreach (var gone in S.Segments.Where(id => segments.All(d => d.Id != id)).ToList())
        {
            Emit(gone, false);
        }

        return changed;
    }

    /// <summary>
    /// Finds when a time-based definition will next change its answer for this customer if nothing else happens:
    /// the facts are evaluated at moments further and further ahead (doubling from 30 s up to 400 days), then the
    /// first change is narrowed down to 30 s. Works for any definition that reads the clock, at microseconds a probe.
    /// </summary>
    private static DateTimeOffset? NextFlip(CustomerState s, DateTimeOffset now, DecisionSnapshot snapshot)
    {
        var timed = (snapshot.Segments ?? []).Where(d => d.Expression is { DependsOnTime: true }).ToList();
        if (timed.Count == 0)
        {
            return null;
        }

        bool[] Answers(DateTimeOffset at)
        {
            var facts = CustomerDecisions.Facts(s, null, at, snapshot);
            return [.. timed.Select(d => d.Expression!.Evaluate(facts))];
        }

        var current = Answers(now);
        var previous = TimeSpan.Zero;
        for (var ahead = SegmentPrecision; ahead <= SegmentHorizon; ahead *= 2)
        {
            if (!Answers(now + ahead).SequenceEqual(current))
            {
                var (low, high) = (previous, ahead);
                while (high - low > SegmentPrecision)
                {
                    var mid = low + ((high - low) / 2);
                    (low, high) = Answers(now + mid).SequenceEqual(current) ? (mid, high) : (low, mid);
                }

                return now + high;
            }

            previous = ahead;
        }

        return null;
    }

    /// <summary>Keeps one wake-up for the next time-based change: a timer while active (exact), and a reminder
    /// (durable, at least a minute away) in case the customer is deactivated or its silo dies meanwhile.</summary>
    private async Task ScheduleSegmentClockAsync(DateTimeOffset now)
    {
        var next = S.Exists && S.MergedInto is null && S.Erasure is null ? NextFlip(S, now, decisions.Current) : null;
        _segmentTimer?.Dispose();
        _segmentTimer = null;
        if (next is { } at)
        {
            _segmentTimer = this.RegisterGrainTimer(
                async _ => await ReevaluateAsync(0, durableRetry: true),
                new GrainTimerCreationOptions(at - now + TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan));
        }

        if (next == S.NextSegmentCheck)
        {
            return;
        }

        S.NextSegmentCheck = next;
        if (next is { } due)
        {
            var delay = due - now;
            await this.RegisterOrUpdateReminder(SegmentClockReminder, delay < TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : delay, TimeSpan.FromDays(1));
        }
        else if (await this.GetReminder(SegmentClockReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == SegmentOutboxReminder)
        {
            _outboxReminder = true;
            await DeliverSegmentMessagesAsync();
        }
        else
        {
            // Idempotent: evaluating again when nothing changed sends nothing.
            await ReevaluateAsync(0, durableRetry: true);
        }

        ReleaseIfHousekeepingOnly();
    }

    /// <summary>Sends outbox messages to their segment shards. A failure leaves them for a reminder (and the next
    /// write or activation); the shard ignores a message it already applied.</summary>
    private async Task DeliverSegmentMessagesAsync()
    {
        while (S.SegmentOutbox.Count > 0)
        {
            var message = S.SegmentOutbox[0];
            try
            {
                await GrainFactory.GetGrain<OrleansCrm.Segments.ISegmentShardGrain>(OrleansCrm.Segments.SegmentShards.Key(message.SegmentId, OrleansCrm.Segments.SegmentShards.Of(Id)))
                    .ApplyAsync(Id, message.Member, message.Sequence);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Segment message {Sequence} of customer {CustomerId} not delivered yet", message.Sequence, Id);
                _housekeepingOnly = false;
                await EnsureOutboxReminderAsync();
                return;
            }

            S.SegmentOutbox.RemoveAt(0);
        }

        if (_outboxReminder)
        {
            // Everything arrived: the retry reminder is no longer needed.
            if (await this.GetReminder(SegmentOutboxReminder) is { } done)
            {
                await this.UnregisterReminder(done);
            }

            _outboxReminder = false;
        }
    }

    private async Task EnsureOutboxReminderAsync()
    {
        if (!_outboxReminder)
        {
            await this.RegisterOrUpdateReminder(SegmentOutboxReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            _outboxReminder = true;
        }
    }

    /// <summary>Offer answers teach next-best-action; the learning grain ignores a repeated report.</summary>
    private async Task ReportOfferOutcomesAsync(IEnumerable<CustomerEvent> applied, bool merging, DecisionSnapshot snapshot)
    {
        if (merging)
        {
            return;
        }

        var group = CustomerDecisions.Group(S, snapshot);
        foreach (var e in applied.Where(e => e.Type == CustomerEventTypes.OfferOutcome))
        {
            await GrainFactory.GetGrain<IOfferLearningGrain>(e.Data.OfferId!).RecordAsync(CustomerDecisions.LearningKey(group, e.Channel), e.Data.Outcome!, $"{Id}/{e.EventId}");
        }

        await ReportCampaignResponsesAsync(applied, group);
    }

    /// <summary>
    /// A campaign contact that carried an offer teaches next-best-action too: a response within the campaign's
    /// attribution window (a purchase, an e-mail click, an inbound call) counts as the offer accepted on the contact's
    /// channel; a window that closed without one counts as declined, reported with the customer's next event. One
    /// outcome per contact (the outcome id is the contact's key, so the learning grain ignores a second report).
    /// </summary>
    private async Task ReportCampaignResponsesAsync(IEnumerable<CustomerEvent> applied, string group)
    {
        var now = clock.GetUtcNow();
        var responses = applied.Where(e => e.Type is CustomerEventTypes.Purchase or CustomerEventTypes.EmailClicked or CustomerEventTypes.CallInbound).ToList();
        foreach (var (key, record) in S.CampaignDecisions.Where(kv => kv.Value is { OfferId: not null, Learned: false, Pending: false, RespondBy: not null }).ToList())
        {
            var responded = responses.Any(e => e.OccurredAt > record.At && e.OccurredAt <= record.RespondBy);
            if (!responded && now <= record.RespondBy)
            {
                continue;
            }

            await GrainFactory.GetGrain<IOfferLearningGrain>(record.OfferId!).RecordAsync(
                CustomerDecisions.LearningKey(group, record.Channel), responded ? "accepted" : "declined", $"{Id}/campaign/{key}");
            S.CampaignDecisions[key] = record with { Learned = true };
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

    /// <summary>Claims this customer's contact points in the lookup index (and releases a name it no longer has), in
    /// one slot of the next group commit; returns the conflicts found since the last call: other holders of an e-mail,
    /// phone or external id. A crash before the snapshot records the claims is harmless: the next activation claims
    /// again, and a claim already held is kept as it was.</summary>
    private async Task<string[]> IndexContactsAsync()
    {
        var changes = ContactChanges();
        if (changes.Claims.Count > 0 || changes.Releases.Count > 0)
        {
            await CommitAsync([], [], withSnapshot: false, contacts: changes);
        }

        _claimsDeferred = false;
        var conflicts = _conflicts;
        _conflicts = null;
        return conflicts is null ? [] : [.. conflicts];
    }

    /// <summary>The contact points this customer holds and has not claimed, and the name claims it no longer has a
    /// name for (names move with the profile; e-mails, phones and external ids accumulate and are never released here).</summary>
    private (List<string> Claims, List<string> Releases) ContactChanges()
    {
        if (!S.Exists || S.MergedInto is not null || S.Erasure is not null)
        {
            return ([], []);
        }

        var names = ContactPoints.NameKeys(S.FirstName, S.LastName);
        var releases = S.IndexedContacts.Where(k => ContactPoints.IsNameKey(k) && !names.Contains(k)).ToList();
        var claims = ContactPoints.Keys(S).Where(k => !S.IndexedContacts.Contains(k)).ToList();
        return (claims, releases);
    }
}

/// <summary>Opaque position in a customer's history: occurred-at ticks and sequence of the last item seen.</summary>
public static class HistoryCursor
{
    public static string Format(DateTimeOffset occurredAt, long sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"{occurredAt.UtcTicks}.{sequence}");

    public static (DateTimeOffset, long)? Parse(string? cursor)
    {
        if (string.IsNullOrEmpty(cursor))
        {
            return null;
        }

        var parts = cursor.Split('.');
        if (parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            && ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks)
        {
            return (new DateTimeOffset(ticks, TimeSpan.Zero), sequence);
        }

        throw new CustomerRuleException("before", "is not a cursor returned by a previous page");
    }
}
