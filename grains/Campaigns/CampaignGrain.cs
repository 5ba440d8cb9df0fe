using Microsoft.Extensions.Logging;
using OrleansCrm.Customers;
using OrleansCrm.Segments;

namespace OrleansCrm.Campaigns;

[GenerateSerializer, Alias("crm.CampaignState")]
public sealed class CampaignState
{
    [Id(0)] public CampaignDefinition? Definition { get; set; }
    [Id(1)] public int Version { get; set; }
    [Id(2)] public string State { get; set; } = CampaignStates.Draft;

    /// <summary>The run in progress or last run; the step id customers key their decisions by.</summary>
    [Id(3)] public string? StepId { get; set; }

    /// <summary>Per segment shard: the last customer id decided (the walk resumes after it), and whether it is done.</summary>
    [Id(4)] public string?[] Cursors { get; set; } = new string?[SegmentShards.Count];
    [Id(5)] public bool[] ShardDone { get; set; } = new bool[SegmentShards.Count];
    [Id(6)] public long Targeted { get; set; }
    [Id(7)] public long Sent { get; set; }
    [Id(8)] public long Deferred { get; set; }
    [Id(9)] public long HeldOut { get; set; }
    [Id(10)] public Dictionary<string, long> Suppressed { get; set; } = new(StringComparer.Ordinal);
    [Id(11)] public DateTimeOffset? LaunchedAt { get; set; }
    [Id(12)] public DateTimeOffset? FinishedAt { get; set; }
    [Id(13)] public int Runs { get; set; }

    /// <summary>A periodic campaign's next run, by its schedule.</summary>
    [Id(14)] public DateTimeOffset? NextRunAt { get; set; }

    /// <summary>The latest finished runs, newest first (bounded).</summary>
    [Id(15)] public List<CampaignRun> History { get; set; } = [];

    /// <summary>A journey's position: 0 while its first message is decided, then the follow-up being decided.</summary>
    [Id(16)] public int JourneyIndex { get; set; }

    /// <summary>The step id of the journey's first message, which follow-ups branch from.</summary>
    [Id(17)] public string? EntryStepId { get; set; }
}

/// <summary>
/// A campaign and its run. A launch walks, shard by shard, the union of the target segments' members in customer id
/// order (a page from each segment's shard, merged, each customer once), and asks each customer to decide the step
/// for itself, at most <see cref="Parallelism"/> at a time. The counters and the shard's cursor are stored together
/// after each page; after a crash a reminder resumes from the stored cursor, and the customers of the page that was
/// cut off answer with their recorded decisions, which are counted then — so every counter counts each customer once.
/// </summary>
[GrainType("campaign")]
public sealed class CampaignGrain(
    [PersistentState("campaign", StorageNames.Crm)] IPersistentState<CampaignState> state,
    ICampaignActionStore store,
    OrleansCrm.Decisions.DecisionCatalog decisions,
    TimeProvider clock,
    ILogger<CampaignGrain> logger) : Grain, ICampaignGrain, IRemindable
{
    private const int Page = 500;
    private const int Parallelism = 128;
    private const string ReminderName = "launch";
    private const int HistoryLimit = 50;
    private IGrainTimer? _timer;
    private IGrainTimer? _nextRun;

    private CampaignState S => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (S.State == CampaignStates.Running)
        {
            EnsureRunning();
        }
        else if (S.State == CampaignStates.Scheduled)
        {
            ScheduleNextRun();
        }

        return Task.CompletedTask;
    }

    public async Task<CampaignStatus> DefineAsync(CampaignDefinition definition)
    {
        if (S.State is CampaignStates.Running or CampaignStates.Paused or CampaignStates.Scheduled)
        {
            throw new CampaignStateException($"campaign is {S.State}: cancel it before changing its definition");
        }

        var errors = CampaignValidation.Validate(definition);
        if (definition.Schedule is { } schedule && Cron(schedule) is null)
        {
            errors["schedule"] = ["is not a cron expression (five fields, or six with seconds first)"];
        }

        foreach (var (channel, template) in definition.Templates ?? [])
        {
            foreach (var (field, problems) in MessageTemplates.Validate(channel, template))
            {
                errors[field] = problems;
            }
        }

        if (errors.Count > 0)
        {
            throw new CampaignValidationException(errors);
        }

        if (definition.Type == CampaignTypes.Prospect)
        {
            // A prospect campaign targets its own uploaded list (PUT /api/v1/campaigns/{id}/prospects), nothing else.
            definition = definition with { Segments = [CampaignTypes.ProspectSegment(this.GetPrimaryKeyString())] };
        }

        S.Definition = definition;
        S.Version++;
        S.State = CampaignStates.Draft;
        await state.WriteStateAsync();
        return Status();
    }

    public async Task<CampaignStatus> LaunchAsync()
    {
        if (S.Definition is null)
        {
            throw new CampaignStateException("campaign has no definition");
        }

        if (S.State is CampaignStates.Running or CampaignStates.Paused or CampaignStates.Scheduled)
        {
            return Status();
        }

        // Reach is checked again at launch, not only when the campaign was defined: a segment id named then may since
        // have been defined by another unit. (Each customer checks the campaign's unit at every decision as well.)
        var unit = S.Definition.OrgUnit ?? "";
        if (unit.Length > 0)
        {
            var defined = decisions.Current.Segments ?? [];
            foreach (var id in S.Definition.Segments.Concat(S.Definition.ExcludeSegments ?? []))
            {
                if (defined.FirstOrDefault(d => d.Id == id) is { } segment && !OrleansCrm.Access.OrgUnits.Contains(unit, segment.OrgUnit))
                {
                    throw new CampaignStateException($"segment '{id}' is not a segment of the campaign's unit; define the campaign on one of its own");
                }
            }
        }

        await StartRunAsync();
        return Status();
    }

    private async Task StartRunAsync(bool followUp = false)
    {
        var definition = S.Definition!;
        if (followUp)
        {
            S.JourneyIndex++;
            S.StepId = $"{S.EntryStepId}-{definition.Steps![S.JourneyIndex - 1].Id}";
        }
        else
        {
            S.Runs++;
            S.StepId = $"v{S.Version}-r{S.Runs}";
            S.EntryStepId = S.StepId;
            S.JourneyIndex = 0;
        }

        S.State = CampaignStates.Running;
        S.Cursors = new string?[SegmentShards.Count];
        S.ShardDone = new bool[SegmentShards.Count];
        (S.Targeted, S.Sent, S.Deferred, S.HeldOut) = (0, 0, 0, 0);
        S.Suppressed.Clear();
        S.LaunchedAt = clock.GetUtcNow();
        S.FinishedAt = null;
        S.NextRunAt = null;
        await state.WriteStateAsync();
        logger.LogInformation("Campaign {CampaignId} launched as step {StepId}", this.GetPrimaryKeyString(), S.StepId);
        if (definition.Type == CampaignTypes.Triggered)
        {
            // Nothing to walk: customers start it themselves when a rule fires, until it is paused or cancelled.
            return;
        }

        await this.RegisterOrUpdateReminder(ReminderName, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        EnsureRunning();
    }

    public Task<CampaignStatus> PauseAsync() => MoveAsync(CampaignStates.Paused, CampaignStates.Running, CampaignStates.Scheduled);

    public async Task<CampaignStatus> ResumeAsync()
    {
        // A periodic campaign paused between runs goes back to waiting for its next one.
        var between = S.State == CampaignStates.Paused && S.NextRunAt is not null;
        var status = await MoveAsync(between ? CampaignStates.Scheduled : CampaignStates.Running, CampaignStates.Paused);
        if (between)
        {
            ScheduleNextRun();
        }
        else
        {
            EnsureRunning();
        }

        return status;
    }

    public async Task<CampaignStatus> CancelAsync()
    {
        var status = await MoveAsync(CampaignStates.Cancelled, CampaignStates.Running, CampaignStates.Paused, CampaignStates.Scheduled);
        S.NextRunAt = null;
        _nextRun?.Dispose();
        _nextRun = null;
        await StopReminderAsync();
        return status;
    }

    public Task<CampaignStep?> GetTriggerStepAsync() => Task.FromResult(
        S.State == CampaignStates.Running && S.Definition is { Type: CampaignTypes.Triggered } definition
            ? new CampaignStep(this.GetPrimaryKeyString(), S.StepId!, definition, null)
            : null);

    /// <summary>Counts a decision a rule triggered. Each customer's decision is durable in its own commit; the
    /// counters are this grain's summary of them, so a trigger campaign that fires for thousands of customers a second
    /// does not cost a state write each: the counts are written at most once a second (and at deactivation, or with
    /// the next write of anything else). A silo's crash can lose up to a second of these counts, not a decision.</summary>
    public Task RecordTriggeredAsync(CampaignDecisionResult result)
    {
        Count(result);
        _countsFlush ??= this.RegisterGrainTimer(FlushCountsAsync, new GrainTimerCreationOptions(CountsFlushDelay, Timeout.InfiniteTimeSpan));
        return Task.CompletedTask;
    }

    private static readonly TimeSpan CountsFlushDelay = TimeSpan.FromSeconds(1);
    private IGrainTimer? _countsFlush;

    private async Task FlushCountsAsync(CancellationToken cancellation)
    {
        _countsFlush?.Dispose();
        _countsFlush = null;
        await state.WriteStateAsync(cancellation);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_countsFlush is not null)
        {
            _countsFlush.Dispose();
            _countsFlush = null;
            await state.WriteStateAsync(cancellationToken);
        }
    }

    public async Task<CampaignResults?> GetResultsAsync()
    {
        if (S.Definition is not { } definition)
        {
            return null;
        }

        var rows = await store.ResultsAsync(this.GetPrimaryKeyString(), definition.AttributionDays);
        var contacted = Group("contacted", rows.Where(r => r.Kind == "campaign.contact"));
        var control = Group("control", rows.Where(r => r.Kind == "campaign.holdout"));
        double? uplift = null, low = null, high = null;
        if (contacted.Customers > 0 && control.Customers > 0)
        {
            // Difference of two proportions, normal approximation.
            var (p1, n1, p0, n0) = (contacted.ResponseRate, (double)contacted.Customers, control.ResponseRate, (double)control.Customers);
            uplift = p1 - p0;
            var half = 1.96 * Math.Sqrt((p1 * (1 - p1) / n1) + (p0 * (1 - p0) / n0));
            (low, high) = (uplift - half, uplift + half);
        }

        var cost = definition.CostPerContact * contacted.Customers;
        var incremental = control.Customers == 0
            ? contacted.Revenue
            : contacted.Revenue - (control.Revenue / control.Customers * contacted.Customers);
        return new CampaignResults(
            this.GetPrimaryKeyString(),
            definition.AttributionDays,
            contacted,
            control,
            uplift,
            low,
            high,
            cost,
            Math.Round(incremental, 2),
            cost > 0 ? (double)((incremental - cost) / cost) : null,
            [.. rows.Where(r => r.Kind == "campaign.contact").GroupBy(r => r.Channel).Select(g => Group(g.Key, g))],
            [.. rows.GroupBy(r => r.Segment).Where(g => g.Key.Length > 0).Select(g => SegmentResult(g.Key, g))]);
    }

    private static CampaignResultGroup Group(string name, IEnumerable<ExposureResult> rows)
    {
        var list = rows.ToList();
        long n = list.Sum(r => r.Customers), responders = list.Sum(r => r.Responders), converters = list.Sum(r => r.Converters);
        return new(name, n, responders, converters, list.Sum(r => r.Revenue), n == 0 ? 0 : (double)responders / n, n == 0 ? 0 : (double)converters / n);
    }

    /// <summary>One target segment's contacted against its own control group.</summary>
    private static CampaignSegmentResult SegmentResult(string segment, IEnumerable<ExposureResult> rows)
    {
        var list = rows.ToList();
        var contacted = Group("contacted", list.Where(r => r.Kind == "campaign.contact"));
        var control = Group("control", list.Where(r => r.Kind == "campaign.holdout"));
        return new CampaignSegmentResult(segment, contacted, control, contacted.Customers > 0 && control.Customers > 0 ? contacted.ResponseRate - control.ResponseRate : null);
    }

    public Task<CampaignStatus?> GetStatusAsync() => Task.FromResult(S.Definition is null ? null : Status());

    public async Task<CampaignStatus?> GetProgressAsync() =>
        S.Definition is null ? null : Status() with { Delivery = await store.CountsAsync(this.GetPrimaryKeyString()) };

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (S.State == CampaignStates.Running)
        {
            EnsureRunning();
        }
        else if (S.State == CampaignStates.Scheduled)
        {
            await RunIfDueAsync();
        }
        else if (S.State != CampaignStates.Paused)
        {
            await StopReminderAsync();
        }
    }

    private async Task<CampaignStatus> MoveAsync(string to, params string[] from)
    {
        if (!from.Contains(S.State, StringComparer.Ordinal))
        {
            throw new CampaignStateException($"campaign is {S.State}; it can become {to} only from {string.Join(" or ", from)}");
        }

        S.State = to;
        await state.WriteStateAsync();
        return Status();
    }

    private void EnsureRunning() =>
        _timer ??= this.RegisterGrainTimer(StepAsync, new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromMilliseconds(10)) { KeepAlive = true });

    /// <summary>One page of one shard: the next customers after the shard's cursor in any target segment.</summary>
    private async Task StepAsync(CancellationToken cancellation)
    {
        var shard = Array.IndexOf(S.ShardDone, false);
        if (S.State != CampaignStates.Running || shard < 0)
        {
            // Disposing the timer cancels this callback's token: the writes below must not take it.
            _timer?.Dispose();
            _timer = null;
            cancellation = CancellationToken.None;
            if (S.State == CampaignStates.Running)
            {
                var now = clock.GetUtcNow();
                S.FinishedAt = now;
                S.History.Insert(0, new CampaignRun(S.StepId!, S.Targeted, S.Sent, S.Deferred, S.HeldOut, S.Suppressed.Values.Sum(), S.LaunchedAt, now));
                S.History = [.. S.History.Take(HistoryLimit)];
                var followUp = S.Definition!.Type == CampaignTypes.Journey && S.JourneyIndex < (S.Definition.Steps?.Length ?? 0)
                    ? now + S.Definition.Steps![S.JourneyIndex].Wait
                    : (DateTimeOffset?)null;
                var nextRun = followUp ?? (S.Definition.Type == CampaignTypes.Periodic ? Cron(S.Definition.Schedule!)?.GetNextOccurrence(now, TimeZoneOf(S.Definition)) : null);
                if (nextRun is { } next)
                {
                    // The reminder stays: it starts the next run if this activation is gone by then.
                    S.State = CampaignStates.Scheduled;
                    S.NextRunAt = next;
                    await state.WriteStateAsync(cancellation);
                    ScheduleNextRun();
                    return;
                }

                S.State = CampaignStates.Completed;
                await state.WriteStateAsync(cancellation);
                await StopReminderAsync();
                logger.LogInformation("Campaign {CampaignId} step {StepId} decided for {Targeted} customers: {Sent} sent, {HeldOut} held out",
                    this.GetPrimaryKeyString(), S.StepId, S.Targeted, S.Sent, S.HeldOut);
            }

            return;
        }

        var definition = S.Definition!;
        var segments = definition.Segments.Distinct(StringComparer.Ordinal).ToArray();
        var pages = await Task.WhenAll(segments.Select(segment =>
            GrainFactory.GetGrain<ISegmentShardGrain>(SegmentShards.Key(segment, shard)).MembersAsync(S.Cursors[shard], Page)));

        // A segment whose page is full may hold ids beyond what the others returned: stop at its last one.
        var limit = pages.Where(p => p.Length == Page).Select(p => p[^1]).Order(StringComparer.Ordinal).FirstOrDefault();
        var customers = pages.SelectMany(p => p).Distinct(StringComparer.Ordinal)
            .Where(id => limit is null || string.CompareOrdinal(id, limit) <= 0)
            .Order(StringComparer.Ordinal).ToArray();
        var step = CurrentStep(definition);

        // Each customer is counted in the first target segment (in the definition's order) that lists it.
        var foundIn = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var p = pages.Length - 1; p >= 0; p--)
        {
            foreach (var id in pages[p])
            {
                foundIn[id] = segments[p];
            }
        }

        var steps = segments.ToDictionary(s => s, s => step with { Segment = s }, StringComparer.Ordinal);
        var results = new CampaignDecisionResult[customers.Length];
        await Parallel.ForAsync(0, customers.Length, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellation, TaskScheduler = TaskScheduler.Current }, async (i, _) =>
            results[i] = await GrainFactory.GetCustomer(customers[i]).DecideCampaignAsync(steps[foundIn[customers[i]]]));

        foreach (var result in results)
        {
            Count(result);
        }

        if (customers.Length > 0)
        {
            S.Cursors[shard] = customers[^1];
        }

        S.ShardDone[shard] = limit is null;
        await state.WriteStateAsync(cancellation);
    }

    /// <summary>What customers decide now: the campaign's message, or a journey follow-up's with its branch.</summary>
    private CampaignStep CurrentStep(CampaignDefinition definition)
    {
        if (S.JourneyIndex == 0)
        {
            return new CampaignStep(this.GetPrimaryKeyString(), S.StepId!, definition, null);
        }

        var follow = definition.Steps![S.JourneyIndex - 1];
        return new CampaignStep(
            this.GetPrimaryKeyString(),
            S.StepId!,
            definition with { Channels = follow.Channels, Templates = follow.Templates },
            null,
            new JourneyBranch(S.EntryStepId!, follow.When));
    }

    /// <summary>Keeps a timer for the next run while active; the minute reminder covers a lost activation.</summary>
    private void ScheduleNextRun()
    {
        _nextRun?.Dispose();
        var due = S.NextRunAt is { } at ? at - clock.GetUtcNow() : TimeSpan.Zero;
        _nextRun = this.RegisterGrainTimer(
            async _ => await RunIfDueAsync(),
            new GrainTimerCreationOptions(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private async Task RunIfDueAsync()
    {
        if (S.State != CampaignStates.Scheduled || S.NextRunAt is not { } at)
        {
            return;
        }

        if (clock.GetUtcNow() >= at)
        {
            // A new step id: the run re-targets the segments as they are now, and every customer decides afresh (a
            // journey's follow-up: each customer of its first message, on the branch its responses take).
            await StartRunAsync(followUp: S.Definition!.Type == CampaignTypes.Journey);
        }
        else
        {
            // A timer may fire a little early.
            ScheduleNextRun();
        }
    }

    private static Cronos.CronExpression? Cron(string schedule)
    {
        var fields = schedule.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        return Cronos.CronExpression.TryParse(schedule, fields == 6 ? Cronos.CronFormat.IncludeSeconds : Cronos.CronFormat.Standard, out var cron) ? cron : null;
    }

    private static TimeZoneInfo TimeZoneOf(CampaignDefinition definition) => CampaignValidation.TimeZoneOf(definition.TimeZone) ?? TimeZoneInfo.Utc;

    private void Count(CampaignDecisionResult result)
    {
        OrleansCrm.Telemetry.CrmMetrics.CampaignDecisions.Add(1, new KeyValuePair<string, object?>("outcome", result.Outcome));
        S.Targeted++;
        switch (result.Outcome)
        {
            case ContactOutcomes.Send:
                S.Sent++;
                break;
            case ContactOutcomes.Defer:
                S.Deferred++;
                break;
            case ContactOutcomes.Control:
                S.HeldOut++;
                break;
            default:
                S.Suppressed[result.Reason ?? "unknown"] = S.Suppressed.GetValueOrDefault(result.Reason ?? "unknown") + 1;
                break;
        }
    }

    private async Task StopReminderAsync()
    {
        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    private CampaignStatus Status() => new(
        this.GetPrimaryKeyString(),
        S.Definition!,
        S.Version,
        S.State,
        S.StepId,
        S.Targeted,
        S.Sent,
        S.Deferred,
        S.HeldOut,
        new Dictionary<string, long>(S.Suppressed, StringComparer.Ordinal),
        S.ShardDone.Count(d => d),
        S.LaunchedAt,
        S.FinishedAt,
        S.NextRunAt,
        [.. S.History]);
}

/// <summary>The pull feed of campaign actions, read straight from the outbox table.</summary>
[Orleans.Concurrency.StatelessWorker]
[GrainType("campaign-feed")]
public sealed class CampaignFeedGrain(ICampaignActionStore store) : Grain, ICampaignFeedGrain
{
    public Task<FeedPage> ReadAsync(FeedCursor after, int limit, string? campaignId) => store.ReadAsync(after, Math.Clamp(limit, 1, 1000), campaignId);
}
