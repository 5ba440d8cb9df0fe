using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansCrm.Customers;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Silo.Storage;

/// <summary>
/// The silo's group-commit writer (<see cref="ICustomerWriter"/>). Customer grains hand in their commits; a few write
/// loops each take whatever has queued since their last transaction (up to a row and byte budget) and store it in one
/// transaction: all log rows in one multi-row insert, then the campaign actions, then the snapshots. Each grain's
/// task completes when the transaction holding its rows has committed, so nothing is acknowledged before it is durable,
/// and under load one commit (one WAL flush) carries hundreds of grains' writes instead of one.
/// <para>
/// If a batch fails, its commits are retried one by one, each in its own transaction: one grain's bad row fails that
/// grain's commit alone. A commit whose outcome is unknown (the connection broke during COMMIT) is safe to retry: log
/// rows and actions are idempotent by key, and a snapshot is version-checked.
/// </para>
/// </summary>
public sealed class GroupCommitWriter : ICustomerWriter, IAsyncDisposable
{
    private const int MaxCommitsPerBatch = 2_000;
    private const int MaxRowsPerBatch = 5_000;
    private const long MaxBytesPerBatch = 8L << 20;

    /// <summary>Transactions one silo keeps in flight on PostgreSQL (CRM_WRITER_LOOPS overrides, for measuring).</summary>
    private static readonly int PostgresLoops = int.TryParse(Environment.GetEnvironmentVariable("CRM_WRITER_LOOPS"), out var loops) && loops is > 0 and <= 64 ? loops : 2;

    private readonly StorageSettings _storage;
    private readonly CustomerCommitSql _sql;
    private readonly GrainStateSql _states;
    private readonly ILogger<GroupCommitWriter> _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = false });
    private readonly Task[] _loops;
    private Task<bool>? _legacy;

    public GroupCommitWriter(StorageSettings storage, IOptions<ClusterOptions> cluster, TimeProvider clock, ILogger<GroupCommitWriter> logger)
    {
        _storage = storage;
        _logger = logger;
        _sql = new CustomerCommitSql(storage.Kind == StorageKind.Postgres, cluster.Value.ServiceId, clock);
        _states = new GrainStateSql(storage.Kind == StorageKind.Postgres, cluster.Value.ServiceId, clock);

        // SQLite has one writer at a time: a second loop would only wait on the file lock. PostgreSQL flushes the WAL of
        // concurrent commits together, so several loops overlap one batch's round trips with the others' flushes.
        _loops = new Task[storage.Kind == StorageKind.Postgres ? PostgresLoops : 1];
        for (var i = 0; i < _loops.Length; i++)
        {
            _loops[i] = Task.Run(WriteLoopAsync);
        }
    }

    public Task<CommitResult> CommitAsync(CustomerCommit commit)
    {
        if (commit.RowCount == 0)
        {
            return Task.FromResult(new CommitResult([], null, false, 0));
        }

        var pending = new CustomerPending(commit);
        Enqueue(pending);
        return pending.Done.Task;
    }

    public Task<IReadOnlyList<LogAppend>?> CreateAsync(NewCustomer customer)
    {
        var pending = new CreatePending(customer);
        Enqueue(pending);
        return pending.Done.Task;
    }

    /// <summary>Stores one grain's state in the next group commit; returns its new version, or null when the stored
    /// version was not <see cref="GrainStateWrite.ExpectedVersion"/> (another activation wrote in between).</summary>
    public Task<long?> WriteGrainStateAsync(GrainStateWrite write)
    {
        var pending = new StatePending(write);
        Enqueue(pending);
        return pending.Done.Task;
    }

    public async Task<StoredGrainState?> ReadGrainStateAsync(string stateName, string grainId)
    {
        await using var connection = await Db.OpenAsync(_storage);
        return await _states.ReadAsync(connection, stateName, grainId);
    }

    /// <summary>Removes one grain's state if it is still at <paramref name="expectedVersion"/>; false when it was not.</summary>
    public async Task<bool> DeleteGrainStateAsync(string stateName, string grainId, long expectedVersion)
    {
        await using var connection = await Db.OpenAsync(_storage);
        return await _states.DeleteAsync(connection, stateName, grainId, expectedVersion);
    }

    private void Enqueue(Pending pending)
    {
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(GroupCommitWriter), "the silo is stopping");
        }
    }

    public Task<bool> MayHoldLegacyStatesAsync() => _legacy ??= CheckLegacyStatesAsync();

    private async Task<bool> CheckLegacyStatesAsync()
    {
        await using var connection = await Db.OpenAsync(_storage);
        return await _sql.HasLegacyStatesAsync(connection);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_loops);
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>();
        while (await reader.WaitToReadAsync())
        {
            var rows = 0;
            var bytes = 0L;
            while (batch.Count < MaxCommitsPerBatch && rows < MaxRowsPerBatch && bytes < MaxBytesPerBatch && reader.TryRead(out var next))
            {
                batch.Add(next);
                rows += next.Rows;
                bytes += next.Bytes;
            }

            if (batch.Count > 0)
            {
                await WriteBatchAsync(batch, rows);
                batch.Clear();
            }
        }
    }

    private async Task WriteBatchAsync(List<Pending> batch, int rows)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await WriteOnceAsync(batch);
            OrleansCrm.Telemetry.CrmMetrics.StorageCall("group.commit", started);
            OrleansCrm.Telemetry.CrmMetrics.GroupCommitUnits.Record(batch.Count);
            OrleansCrm.Telemetry.CrmMetrics.GroupCommitRows.Record(rows);
            return;
        }
        catch (Exception e) when (batch.Count > 1)
        {
            _logger.LogWarning(e, "A group commit of {Commits} grains' writes failed; writing them one by one", batch.Count);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "A group commit of one grain's write failed");
            batch[0].Fail(e);
            return;
        }

        // One grain's write at a time, so a bad row fails only the write that holds it.
        foreach (var pending in batch)
        {
            try
            {
                await WriteOnceAsync([pending]);
            }
            catch (Exception e)
            {
                pending.Fail(e);
            }
        }
    }

    /// <summary>Writes <paramref name="batch"/> in one transaction and, once it has committed, answers each write.</summary>
    private async Task WriteOnceAsync(List<Pending> batch)
    {
        var commits = batch.OfType<CustomerPending>().ToList();
        var states = batch.OfType<StatePending>().ToList();
        var creates = batch.OfType<CreatePending>().ToList();
        await using var connection = await Db.OpenAsync(_storage);
        await using var transaction = await connection.BeginTransactionAsync();
        var (results, created) = commits.Count + creates.Count == 0
            ? ([], [])
            : await _sql.WriteAsync(connection, transaction, [.. commits.Select(c => c.Commit)], [.. creates.Select(c => c.Customer)]);
        var versions = states.Count == 0 ? [] : await _states.WriteAsync(connection, transaction, [.. states.Select(s => s.Write)]);
        await transaction.CommitAsync();
        OrleansCrm.Telemetry.CrmMetrics.CustomerEvents.Add(results.Sum(r => r.Appends.Count(a => !a.Existed)) + created.Sum(c => c?.Count ?? 0));
        OrleansCrm.Telemetry.CrmMetrics.CampaignActions.Add(results.Sum(r => r.ActionsAdded));
        for (var i = 0; i < commits.Count; i++)
        {
            commits[i].Done.TrySetResult(results[i]);
        }

        for (var i = 0; i < states.Count; i++)
        {
            states[i].Done.TrySetResult(versions[i]);
        }

        for (var i = 0; i < creates.Count; i++)
        {
            creates[i].Done.TrySetResult(created[i]);
        }
    }

    /// <summary>The grain sees its own customer named in the error, whatever row of the batch failed first. (The
    /// database's own exception stays in the silo's log: the cluster's callers cannot deserialise it.)</summary>
    private static Exception StorageFailure(string customerId, Exception e) => e is DbException or InvalidOperationException or TimeoutException
        ? new CustomerStorageException($"storing customer '{customerId}' failed: {e.Message}")
        : e;

    private abstract class Pending
    {
        public abstract int Rows { get; }

        public abstract long Bytes { get; }

        public abstract void Fail(Exception e);
    }

    private sealed class CustomerPending(CustomerCommit commit) : Pending
    {
        public CustomerCommit Commit { get; } = commit;

        public TaskCompletionSource<CommitResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override int Rows => Commit.RowCount;

        public override long Bytes => Commit.ByteEstimate;

        public override void Fail(Exception e) => Done.TrySetException(StorageFailure(Commit.CustomerId, e));
    }

    private sealed class CreatePending(NewCustomer customer) : Pending
    {
        public NewCustomer Customer { get; } = customer;

        public TaskCompletionSource<IReadOnlyList<LogAppend>?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override int Rows => Customer.RowCount;

        public override long Bytes => Customer.Events.Count * 512L;

        public override void Fail(Exception e) => Done.TrySetException(StorageFailure(Customer.CustomerId, e));
    }

    private sealed class StatePending(GrainStateWrite write) : Pending
    {
        public GrainStateWrite Write { get; } = write;

        public TaskCompletionSource<long?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override int Rows => 1;

        public override long Bytes => Write.Payload.Length;

        public override void Fail(Exception e) => Done.TrySetException(e);
    }
}
