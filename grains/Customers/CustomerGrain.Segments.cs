using Microsoft.Extensions.Logging;
using OrleansCrm.Decisions;

namespace OrleansCrm.Customers;

/// <summary>The customer's <see cref="ICustomerSegments"/> role. Segments: evaluating the definitions, the outbox of joins
/// and leaves, static lists, previews and the segment clock.</summary>
public sealed partial class CustomerGrain
{
    private const string SegmentClockReminder = "segment-clock";
    private const string SegmentOutboxReminder = "segment-outbox";
    private static readonly TimeSpan SegmentHorizon = TimeSpan.FromDays(400);
    private static readonly TimeSpan SegmentPrecision = TimeSpan.FromSeconds(30);
    private IGrainTimer? _segmentTimer;

    /// <summary>Whether a <see cref="SegmentOutboxReminder"/> is known to be registered.</summary>
    private bool _outboxReminder;

    public async Task<int> ReevaluateSegmentsAsync(long segmentsVersion)
    {
        var sent = await ReevaluateAsync(segmentsVersion, durableRetry: false);
        ReleaseIfHousekeepingOnly();
        return sent;
    }

    public async Task<string?> ListInStaticSegmentAsync(string segmentId, long stamp)
    {
        if (!S.Exists || S.MergedInto is not null || S.Erasure is not null || !OrleansCrm.Access.CallerReach.Reaches(S.OrgUnit))
        {
            // A merged customer's list entry belongs to the survivor; an erased customer is listed nowhere; a customer
            // outside the uploader's unit is answered as a missing one.
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
            await DispatchEffectsAsync();
        }

        ReleaseIfHousekeepingOnly();
        return Id;
    }

    public async Task<bool?> MatchesAsync(string expression)
    {
        bool? matches = S.MergedInto is not null || !S.Exists || S.Erasure is not null || !OrleansCrm.Access.CallerReach.Reaches(S.OrgUnit)
            ? null
            : OrleansCrm.Segments.SegmentExpression.Parse(expression).Evaluate(CustomerDecisions.Facts(S, null, clock.GetUtcNow(), decisions.Current));
        ReleaseIfHousekeepingOnly();
        return matches;
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

        await DispatchEffectsAsync();
        return (int)(S.SegmentSequence - before);
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
                async _ =>
                {
                    // Timers do not pass the call filter: the encoded view is forgotten here.
                    ForgetEncodedView();
                    await ReevaluateAsync(0, durableRetry: true);
                    ForgetEncodedView();
                },
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
}
