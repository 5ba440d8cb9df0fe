using Microsoft.Extensions.Logging;

namespace OrleansCrm.Customers;

/// <summary>The customer's <see cref="ICustomerIdentity"/> role. Identity and privacy: merges (absorbing another customer's
/// history and contact points), export and erasure.</summary>
public sealed partial class CustomerGrain
{
    public async Task<MergeResult> MergeAsync(string otherCustomerId)
    {
        _housekeepingOnly = false;
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
        await DispatchEffectsAsync();

        logger.LogInformation("Customer {Other} merged into {Survivor}: {Events} events absorbed", otherCustomerId, Id, absorbed);
        return new MergeResult(Id, otherCustomerId, absorbed, CustomerAggregate.View(S, Id, clock.GetUtcNow(), decisions.Current));
    }

    public async Task<HandOver> HandOverAsync(string survivorId)
    {
        _housekeepingOnly = false;
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
        var erased = new CustomerEvent(CustomerEventRules.ErasureEventId, CustomerEventTypes.CustomerErased, S.Erasure.At, CustomerRedaction.ErasureSource, null, EventData.Empty);
        var appended = await log.AppendAsync(Id, [erased]);
        if (appended[0].Existed)
        {
            // Either this erasure's retry, or an event a caller stored under the marker's id before that id was
            // reserved: a second marker under an id of this erasure's own keeps a rebuilt state erased either way.
            erased = erased with { EventId = $"{CustomerEventRules.ErasureEventId}/{S.Erasure.At.ToUnixTimeMilliseconds()}" };
            appended = await log.AppendAsync(Id, [erased]);
        }

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
        await DispatchEffectsAsync();

        // 2. Every customer merged into this one (and into those), whose states still hold their own copies.
        var ids = new List<string> { Id };
        foreach (var merged in S.MergedFrom)
        {
            var forgotten = await GrainFactory.GetCustomer(merged).ForgetAsync(Id);
            ids.AddRange(forgotten.CustomerIds.Where(id => !ids.Contains(id)));
        }

        // 3. The lookup index (every claim of every id), the log payloads and the action outbox; each step (and 4) is
        // idempotent, so a retry after a failure here completes what this call started.
        var released = await contactIndex.ReleaseAllAsync(ids);
        var logRows = 0;
        foreach (var id in ids)
        {
            logRows += await log.RedactAsync(id, CustomerRedaction.Redact);
        }

        var blanked = await actions.BlankAsync(ids);

        // 4. Answers kept for Idempotency-Key that are about any of these ids: a replay must not bring the person back.
        var kept = await keptAnswers.KeysForAsync(ids);
        foreach (var key in kept)
        {
            await GrainFactory.GetGrain<OrleansCrm.Api.IIdempotencyGrain>(key).ForgetAsync();
        }

        var report = new ErasureReport(Id, S.Erasure.At, logRows, released, segmentsLeft, blanked, kept.Count);
        S.Erasure = S.Erasure with { Report = report };
        S.IndexedContacts.Clear();
        await WriteAsync();
        logger.LogInformation("Customer {CustomerId} erased: {LogRows} log rows redacted, {Contacts} contact points released, {Segments} segments left, {Actions} actions blanked, {Kept} kept answers forgotten",
            Id, logRows, report.ContactPointsReleased, segmentsLeft, blanked, kept.Count);
        return report;
    }

    public async Task<ForgottenCustomer> ForgetAsync(string survivorId)
    {
        _housekeepingOnly = false;
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
}
