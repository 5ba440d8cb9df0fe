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

    private readonly StorageSettings _storage;
    private readonly CustomerCommitSql _sql;
    private readonly ILogger<GroupCommitWriter> _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = false });
    private readonly Task[] _loops;
    private Task<bool>? _legacy;

    public GroupCommitWriter(StorageSettings storage, IOptions<ClusterOptions> cluster, TimeProvider clock, ILogger<GroupCommitWriter> logger)
    {
        _storage = storage;
        _logger = logger;
        _sql = new CustomerCommitSql(storage.Kind == StorageKind.Postgres, cluster.Value.ServiceId, clock);

        // SQLite has one writer at a time: a second loop would only wait on the file lock. PostgreSQL flushes the WAL of
        // concurrent commits together, so two loops overlap one batch's round trips with the other's flush.
        _loops = new Task[storage.Kind == StorageKind.Postgres ? 2 : 1];
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

        var pending = new Pending(commit, new TaskCompletionSource<CommitResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(GroupCommitWriter), "the silo is stopping");
        }

        return pending.Done.Task;
    }

    public async Task<StoredSnapshot?> ReadSnapshotAsync(string customerId)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await using var connection = await Db.OpenAsync(_storage);
        var snapshot = await _sql.ReadSnapshotAsync(connection, customerId);
        OrleansCrm.Telemetry.CrmMetrics.StorageCall("snapshot.read", started);
        return snapshot;
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
                rows += next.Commit.RowCount;
                bytes += next.Commit.ByteEstimate;
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
            var results = await WriteOnceAsync([.. batch.Select(p => p.Commit)]);
            OrleansCrm.Telemetry.CrmMetrics.StorageCall("group.commit", started);
            OrleansCrm.Telemetry.CrmMetrics.GroupCommitUnits.Record(batch.Count);
            OrleansCrm.Telemetry.CrmMetrics.GroupCommitRows.Record(rows);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Done.TrySetResult(results[i]);
            }

            return;
        }
        catch (Exception e) when (batch.Count > 1)
        {
            _logger.LogWarning(e, "A group commit of {Commits} customer commits failed; writing them one by one", batch.Count);
        }
        catch (Exception e)
        {
            batch[0].Done.TrySetException(Wrap(e, batch[0].Commit));
            return;
        }

        // One commit at a time, so a bad row fails only the commit that holds it.
        foreach (var pending in batch)
        {
            try
            {
                pending.Done.TrySetResult((await WriteOnceAsync([pending.Commit]))[0]);
            }
            catch (Exception e)
            {
                pending.Done.TrySetException(Wrap(e, pending.Commit));
            }
        }
    }

    private async Task<CommitResult[]> WriteOnceAsync(IReadOnlyList<CustomerCommit> commits)
    {
        await using var connection = await Db.OpenAsync(_storage);
        await using var transaction = await connection.BeginTransactionAsync();
        var results = await _sql.WriteAsync(connection, transaction, commits);
        await transaction.CommitAsync();
        OrleansCrm.Telemetry.CrmMetrics.CustomerEvents.Add(results.Sum(r => r.Appends.Count(a => !a.Existed)));
        OrleansCrm.Telemetry.CrmMetrics.CampaignActions.Add(results.Sum(r => r.ActionsAdded));
        return results;
    }

    /// <summary>The grain sees its own commit named in the error, whatever row of the batch failed first.</summary>
    private static Exception Wrap(Exception e, CustomerCommit commit) => e is DbException
        ? new CustomerStorageException($"storing customer '{commit.CustomerId}' failed: {e.Message}", e)
        : e;

    private sealed record Pending(CustomerCommit Commit, TaskCompletionSource<CommitResult> Done);
}
