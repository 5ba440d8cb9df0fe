using OrleansCrm.Access;
using Microsoft.Extensions.Logging;
using OrleansCrm.Decisions;

namespace OrleansCrm.Customers;

/// <summary>The customer's <see cref="ICustomerRecording"/> role. Recording: events and profile changes appended to the log,
/// folded into the state, replayed at activation; the lookup claims they lead to.</summary>
public sealed partial class CustomerGrain
{
    private const int ReplayPage = 500;

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

        var distinct = WithinCallerUnit(events.DistinctBy(e => e.EventId, StringComparer.Ordinal).ToList());
        var appended = (await CommitAsync(distinct, [], withSnapshot: false, audit)).Appends;

        // Acknowledged once the log rows are committed; the snapshot follows later, in a batch.
        var applied = await ApplyAppendedAsync(distinct, appended, merging: false, persist: false);
        // Also on a retry: the first attempt may have failed between its log rows and its claims.
        var conflicts = _claimsDeferred && !distinct.Any(e => e.Type == CustomerEventTypes.ProfileChanged) ? [] : await IndexContactsAsync();
        // Also on a retry of a call whose outcome was unknown: finish what the first attempt may have left undelivered.
        await DispatchEffectsAsync();

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

    /// <summary>The unit rule for what a caller of a unit records: no event may place the customer outside the
    /// caller's unit (the rule <c>PUT</c> applies to <c>orgUnit</c>, for every path that records events), and a customer
    /// such a caller creates belongs to the caller's unit in its log, not only in its state: a <c>profile.changed</c>
    /// event of the CRM's own (id <c>unit/…</c>, reserved) is recorded before the caller's first events.</summary>
    private List<CustomerEvent> WithinCallerUnit(List<CustomerEvent> events)
    {
        if (CallerReach.Current is not { } reach || events.Count == 0)
        {
            return events;
        }

        foreach (var e in events)
        {
            if (e.Data?.Profile?.OrgUnit is { } given && !CallerReach.Reaches(given))
            {
                throw new OutsideUnitException("data.profile.orgUnit", $"orgUnit \"{given}\" is outside your organisation unit \"{reach}\"");
            }
        }

        if (S.Exists || events.Any(e => e.Data?.Profile?.OrgUnit is not null))
        {
            return events;
        }

        // Dated with the earliest of the events, so any later change of the unit (by someone who may make it) wins.
        var first = events.MinBy(e => e.OccurredAt)!;
        var unit = new CustomerEvent($"unit/{first.EventId}", CustomerEventTypes.ProfileChanged, first.OccurredAt, "crm", null,
            new EventData(Profile: new CustomerProfile(OrgUnit: reach)));
        return [unit, .. events];
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
            await ReportOfferOutcomesAsync(events.Where(e => applied.Contains(e.EventId)), merging, snapshot);
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
        if (conflicts is null)
        {
            return [];
        }

        var answers = new List<string>(conflicts.Count);
        foreach (var (key, others, more) in conflicts)
        {
            // A caller of a unit hears only of holders in its reach: the answer is the same whether or not another
            // unit has a customer with this e-mail.
            var named = others;
            if (CallerReach.Current is not null)
            {
                var units = await Task.WhenAll(others.Select(o => GrainFactory.GetCustomer(o).PeekOrgUnitAsync()));
                named = [.. others.Where((_, i) => units[i] is { } unit && CallerReach.Reaches(unit))];
            }

            if (named.Length > 0)
            {
                answers.Add($"{key} is also held by {string.Join(", ", named)}{(more && named.Length == others.Length ? " and others" : "")}");
            }
        }

        return [.. answers];
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
