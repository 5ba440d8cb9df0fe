using Microsoft.Extensions.Logging;
using OrleansCrm.Customers;

namespace OrleansCrm.Segments;

[GenerateSerializer, Alias("crm.BackfillState")]
public sealed class BackfillState
{
    [Id(0)] public int Version { get; set; }
    [Id(1)] public string? Cursor { get; set; }
    [Id(2)] public long Done { get; set; }
    [Id(3)] public bool Finished { get; set; } = true;
    [Id(4)] public DateTimeOffset? StartedAt { get; set; }
    [Id(5)] public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>The segment catalog version the walk evaluates against (at least).</summary>
    [Id(6)] public long CatalogVersion { get; set; }
}

/// <summary>
/// Walks every customer id in the log in chunks and asks each customer to re-evaluate its segments; the cursor is
/// stored after every chunk and a reminder restarts the walk if the silo running it dies, so the backfill finishes
/// and the count is then exact. Customers that change meanwhile evaluate themselves, so order does not matter.
/// </summary>
[GrainType("segment-backfill")]
public sealed class SegmentBackfillGrain(
    [PersistentState("segmentbackfill", StorageNames.Crm)] IPersistentState<BackfillState> state,
    ISegmentStore store,
    OrleansCrm.Decisions.ISiloCatalogs catalogs,
    TimeProvider clock,
    ILogger<SegmentBackfillGrain> logger) : Grain, ISegmentBackfillGrain, IRemindable
{
    private const int Chunk = 500;
    private const int Parallelism = 128;
    private const string ReminderName = "backfill";
    private IGrainTimer? _timer;

    /// <summary>Whether every silo was seen holding the definitions this walk evaluates against.</summary>
    private long _everywhere = -1;

    public async Task StartAsync(int version)
    {
        var catalogVersion = await GrainFactory.GetGrain<OrleansCrm.Catalog.ICatalogGrain>(OrleansCrm.Catalog.CatalogKinds.Segments).GetVersionAsync();
        state.State = new BackfillState { Version = version, Finished = false, StartedAt = clock.GetUtcNow(), CatalogVersion = catalogVersion };
        await state.WriteStateAsync();
        await this.RegisterOrUpdateReminder(ReminderName, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        EnsureRunning();
    }

    public Task<BackfillProgress> GetProgressAsync()
    {
        var s = state.State;
        return Task.FromResult(new BackfillProgress(s.Version, s.Done, s.Finished, s.StartedAt, s.FinishedAt));
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (state.State.Finished)
        {
            if (await this.GetReminder(ReminderName) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            return;
        }

        EnsureRunning();
    }

    private void EnsureRunning() =>
        _timer ??= this.RegisterGrainTimer(StepAsync, new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromMilliseconds(10)) { KeepAlive = true });

    private async Task StepAsync(CancellationToken cancellation)
    {
        var s = state.State;
        if (s.Finished)
        {
            _timer?.Dispose();
            _timer = null;
            return;
        }

        if (_everywhere < s.CatalogVersion)
        {
            // A customer created after the walk passed its place in the order is evaluated by itself, but only
            // against the definitions its silo holds: every silo must hold these before the walk starts, or a customer
            // created in the moments before its silo's next refresh would miss the new segment until its next event.
            await catalogs.EnsureSegmentsEverywhereAsync(s.CatalogVersion);
            _everywhere = s.CatalogVersion;
        }

        var ids = await store.CustomerIdsAsync(s.Cursor, Chunk);
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellation, TaskScheduler = TaskScheduler.Current }, async (id, _) =>
            await GrainFactory.GetCustomer(id).ReevaluateSegmentsAsync(s.CatalogVersion));
        s.Done += ids.Count;
        s.Cursor = ids.Count > 0 ? ids[^1] : s.Cursor;
        if (ids.Count < Chunk)
        {
            s.Finished = true;
            s.FinishedAt = clock.GetUtcNow();
            logger.LogInformation("Segment backfill {Segment} v{Version} finished over {Customers} customers", this.GetPrimaryKeyString(), s.Version, s.Done);
        }

        await state.WriteStateAsync(cancellation);
    }
}
