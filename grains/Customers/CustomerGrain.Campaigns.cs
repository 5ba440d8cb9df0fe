using Microsoft.Extensions.Logging;
using OrleansCrm.Campaigns;
using OrleansCrm.Decisions;

namespace OrleansCrm.Customers;

/// <summary>The customer's <see cref="ICustomerCampaigns"/> role. Campaign decisions: a step decided by the contact policy,
/// triggered campaigns, the actions emitted with their contacts, and what campaigns and offers learn from the
/// answers.</summary>
public sealed partial class CustomerGrain
{
    public async Task<CampaignDecisionResult> DecideCampaignAsync(CampaignStep campaignStep)
    {
        var step = campaignStep;
        if (S.MergedInto is { } survivor)
        {
            ReleaseIfHousekeepingOnly();
            return await GrainFactory.GetCustomer(survivor).DecideCampaignAsync(step);
        }

        if (!S.Exists || !OrleansCrm.Access.OrgUnits.Contains(step.Definition.OrgUnit ?? "", S.OrgUnit))
        {
            // A campaign reaches its unit's customers only, whatever its segments list (a segment id another unit
            // defined later, a customer moved since it joined): outside it, a customer is answered as a missing one,
            // and nothing is decided, stored or sent.
            ReleaseIfHousekeepingOnly();
            return new(ContactOutcomes.Suppressed, "unknown-customer", null, Repeat: false);
        }

        if (S.Erasure is not null)
        {
            ReleaseIfHousekeepingOnly();
            return new(ContactOutcomes.Suppressed, "erased", null, Repeat: false);
        }

        var result = await DecideStepAsync(step);
        await DispatchEffectsAsync();
        ReleaseIfHousekeepingOnly();
        return result;
    }

    /// <summary>Decides a campaign step (or answers the recorded decision) and stores the decision, its contact in the
    /// log and its action in the outbox in one commit: a crash leaves all of them or none, and a repeated call finds
    /// the stored decision, so an action is never emitted twice.</summary>
    private async Task<CampaignDecisionResult> DecideStepAsync(CampaignStep step)
    {
        var key = $"{step.CampaignId}/{step.StepId}";
        if (S.CampaignDecisions.TryGetValue(key, out var legacy))
        {
            // Decided by an earlier version (if its action is not emitted yet, the dispatcher emits it).
            return new(legacy.Outcome, legacy.Reason, legacy.Channel, Repeat: true);
        }

        var decided = await DecisionsAsync();
        if (decided.TryGetValue(key, out var recorded))
        {
            return new(recorded.Outcome, recorded.Reason, recorded.Channel, Repeat: true);
        }

        var now = clock.GetUtcNow();
        var campaign = step.Definition;
        if (step.Branch is { } branch && Branch(decided, step.CampaignId, branch) is { } off)
        {
            // Not on this follow-up's branch: recorded, so a repeated call answers the same.
            await StoreDecisionAsync(new CampaignDecisionRecord(step.CampaignId, step.StepId, ContactOutcomes.Suppressed, off, null, now,
                DateOnly.FromDateTime(now.UtcDateTime), campaign.Priority, Pending: false, null, null, false, null), null, now);
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
                [.. decided.Values
                    .Where(r => r.LocalDay == today && r.CampaignId != step.CampaignId && r.Outcome is ContactOutcomes.Send or ContactOutcomes.Defer)
                    .Select(r => new CampaignClaim(r.CampaignId, r.Priority, r.Outcome == ContactOutcomes.Send))],
                now);
        var contact = decision.Outcome is ContactOutcomes.Send or ContactOutcomes.Defer;
        RenderedMessage? message = null;
        if (contact && campaign.Templates?.GetValueOrDefault(decision.Channel!) is { } template)
        {
            try
            {
                message = await MessageTemplates.RenderAsync(template, CustomerAggregate.View(S, Id, now, decisions.Current), step.CampaignId, campaign.Name, campaign.OfferId, step.OfferName);
            }
            catch (MessageTooLargeException e)
            {
                // This customer's data makes the message larger than a message may be: not sent, and counted so.
                logger.LogWarning("Campaign {CampaignId}: no message for customer {CustomerId}: {Reason}", step.CampaignId, Id, e.Message);
                decision = decision with { Outcome = ContactOutcomes.Suppressed, Reason = "message-too-large", NotBefore = null };
                contact = false;
            }
        }
        else if (contact)
        {
            // The customer's preferred channel was chosen but the campaign wrote no message for it.
            decision = decision with { Outcome = ContactOutcomes.Suppressed, Reason = "no-template", NotBefore = null };
            contact = false;
        }

        var record = new CampaignDecisionRecord(
            step.CampaignId, step.StepId, decision.Outcome, decision.Reason, decision.Channel, now, today, campaign.Priority,
            Pending: false, null, null, false, decision.NotBefore, step.Segment,
            contact ? campaign.OfferId : null, contact && campaign.OfferId is not null ? (decision.NotBefore ?? now).AddDays(campaign.AttributionDays) : null);
        await StoreDecisionAsync(record, contact || decision.Outcome == ContactOutcomes.Control ? message : null, now);
        return new(decision.Outcome, decision.Reason, decision.Channel, Repeat: false);
    }

    /// <summary>This customer's campaign decisions, read from its rows the first time they are needed (with those an
    /// earlier version kept in the snapshot), pruned to the last 400 days and the newest 1,000.</summary>
    private async Task<Dictionary<string, CampaignDecisionRecord>> DecisionsAsync()
    {
        if (_decisions is { } loaded)
        {
            return loaded;
        }

        var decided = new Dictionary<string, CampaignDecisionRecord>(StringComparer.Ordinal);
        foreach (var (key, record) in S.CampaignDecisions.Where(kv => !kv.Value.Pending))
        {
            decided[key] = record;
        }

        if (_hasDecisionRows)
        {
            foreach (var row in await log.ReadDecisionsAsync(Id))
            {
                decided[row.Key] = System.Text.Json.JsonSerializer.Deserialize<CampaignDecisionRecord>(row.Record, DecisionRowJson)!;
            }
        }

        Prune(decided, clock.GetUtcNow());
        return _decisions = decided;
    }

    private static readonly System.Text.Json.JsonSerializerOptions DecisionRowJson = new(System.Text.Json.JsonSerializerDefaults.Web);
    private static readonly TimeSpan DecisionsKept = TimeSpan.FromDays(400);
    private const int MaxDecisionsKept = 1000;

    /// <summary>The decisions read from rows (null until needed); <see cref="_droppedDecisions"/> are keys pruned from
    /// it whose rows the next decision commit deletes.</summary>
    private Dictionary<string, CampaignDecisionRecord>? _decisions;

    /// <summary>Whether the customer has decision rows: read with the snapshot at activation, set by a decision commit.</summary>
    private bool _hasDecisionRows;
    private readonly List<string> _droppedDecisions = [];

    /// <summary>Stores a new decision: its row; for a contact (or the control group) the contact in the log and, unless
    /// held out, the action with <paramref name="message"/>; the snapshot only when it must change with them (an offer's
    /// response window, decisions an earlier version kept in the snapshot). Then folds the contact.</summary>
    private async Task StoreDecisionAsync(CampaignDecisionRecord record, RenderedMessage? message, DateTimeOffset now)
    {
        var key = $"{record.CampaignId}/{record.StepId}";
        var contacts = new List<CustomerEvent>(1);
        var outbox = new List<CampaignAction>(1);
        var holdout = record.Outcome == ContactOutcomes.Control;
        if (message is not null || holdout)
        {
            // The control group is written to the log too (nothing is sent), so responses can be compared.
            contacts.Add(new CustomerEvent($"campaign/{key}", holdout ? CustomerEventTypes.CampaignHoldout : CustomerEventTypes.CampaignContact, record.At, "campaign", record.Channel,
                new EventData(Subject: message?.Subject, Campaign: record.CampaignId, Segment: record.Segment)));
        }

        if (message is not null && !holdout)
        {
            outbox.Add(new CampaignAction(
                0, $"{key}/{Id}", record.CampaignId, record.StepId, Id, record.Channel!, message.Subject, message.Body, message.Html, record.NotBefore, record.At, "pending", record.Priority));
        }

        var decided = await DecisionsAsync();
        var rows = new List<StoredDecision> { Row(key, record) };
        var moving = S.CampaignDecisions.Where(kv => !kv.Value.Pending).ToList();
        rows.AddRange(moving.Select(kv => Row(kv.Key, kv.Value)));
        var withSnapshot = moving.Count > 0 || record.RespondBy is not null;
        foreach (var (movedKey, moved) in moving)
        {
            S.CampaignDecisions.Remove(movedKey);
            decided[movedKey] = moved;
            if (moved is { OfferId: { } offer, Learned: false, RespondBy: { } respondBy })
            {
                S.OfferContacts.Add(new OfferContact(movedKey, offer, moved.Channel, moved.At, respondBy));
            }
        }

        if (record is { OfferId: { } offerId, RespondBy: { } by })
        {
            S.OfferContacts.Add(new OfferContact(key, offerId, record.Channel, record.At, by));
        }

        var dropped = _droppedDecisions.ToList();
        var committed = await CommitAsync(contacts, outbox, withSnapshot, decisions: rows, droppedDecisions: dropped);
        _hasDecisionRows = true;
        _droppedDecisions.RemoveRange(0, dropped.Count);
        decided[key] = record;
        if (contacts.Count > 0)
        {
            await ApplyAppendedAsync(contacts, committed.Appends, merging: false, persist: false);
        }

        Prune(decided, now);
    }

    /// <summary>Drops decisions older than 400 days and beyond the newest 1,000 from memory; their rows are deleted
    /// with the next decision commit.</summary>
    private void Prune(Dictionary<string, CampaignDecisionRecord> decided, DateTimeOffset now)
    {
        var dropped = decided.Where(kv => kv.Value.At < now - DecisionsKept).Select(kv => kv.Key).ToList();
        if (decided.Count - dropped.Count > MaxDecisionsKept)
        {
            dropped.AddRange(decided.OrderByDescending(kv => kv.Value.At).Skip(MaxDecisionsKept).Select(kv => kv.Key));
        }

        foreach (var key in dropped.Distinct(StringComparer.Ordinal))
        {
            decided.Remove(key);
            _droppedDecisions.Add(key);
        }
    }

    private static StoredDecision Row(string key, CampaignDecisionRecord record) =>
        new(key, record.At, System.Text.Json.JsonSerializer.Serialize(record with { Pending = false, Subject = null, Body = null }, DecisionRowJson));

    /// <summary>Starts each campaign a rule triggered for this customer: a triggered campaign that is running gives
    /// its step, and the customer decides it for itself, keyed by the event that fired the rule, so a replayed or
    /// retried event triggers it once. A trigger for a campaign that is not running is dropped.</summary>
    private async Task ProcessTriggersAsync()
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
    private string? Branch(Dictionary<string, CampaignDecisionRecord> decided, string campaignId, JourneyBranch branch)
    {
        if (!decided.TryGetValue($"{campaignId}/{branch.EntryStepId}", out var entry)
            || entry.Outcome is not (ContactOutcomes.Send or ContactOutcomes.Defer))
        {
            return "not-in-journey";
        }

        var since = entry.At;
        var responded = S.Totals.LastPurchaseAt > since
            || S.RecentContacts.Any(c => c.OccurredAt > since && CustomerEventTypes.IsCampaignResponse(c.Type))
            || S.OfferAnswers.Values.Any(a => a.Outcome == "accepted" && a.At > since);
        return (branch.When, responded) switch
        {
            ("responded", false) => "branch-not-responded",
            ("notResponded", true) => "branch-responded",
            _ => null,
        };
    }

    /// <summary>Emits the contacts an earlier version decided (kept pending in the snapshot) whose actions are not yet
    /// in the outbox, in one commit: the contacts go into the log (event id <c>campaign/&lt;campaign&gt;/&lt;step&gt;</c>),
    /// the actions into the outbox (idempotency key <c>campaign/step/customer</c>) and the snapshot, in which the
    /// decisions are no longer pending and their messages are dropped. Rows are idempotent by key and the commit is
    /// atomic, so a crash leaves either everything or the decision still pending, never an action twice. Decisions made
    /// now are stored with their contact and action at once (<see cref="StoreDecisionAsync"/>) and are never pending.</summary>
    private async Task EmitCampaignActionsAsync()
    {
        // Runs with every dispatch: nothing to scan once no earlier version's decisions are left in the snapshot.
        var pending = S.CampaignDecisions.Count == 0 ? [] : S.CampaignDecisions.Where(kv => kv.Value.Pending).ToList();
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
        var responses = applied.Where(e => CustomerEventTypes.IsCampaignResponse(e.Type)).ToList();
        foreach (var contact in S.OfferContacts.ToList())
        {
            var responded = responses.Any(e => e.OccurredAt > contact.At && e.OccurredAt <= contact.RespondBy);
            if (!responded && now <= contact.RespondBy)
            {
                continue;
            }

            await GrainFactory.GetGrain<IOfferLearningGrain>(contact.OfferId).RecordAsync(
                CustomerDecisions.LearningKey(group, contact.Channel), responded ? "accepted" : "declined", $"{Id}/campaign/{contact.Key}");
            S.OfferContacts.Remove(contact);
        }

        // Decisions an earlier version kept in the snapshot, until they move to rows.
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
}
