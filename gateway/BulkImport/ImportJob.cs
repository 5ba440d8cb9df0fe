using System.Collections.Concurrent;

namespace OrleansCrm.Gateway.BulkImport;

/// <summary>Live progress of one import, readable while it runs (<c>GET /api/v1/imports/{id}</c>).</summary>
public sealed class ImportJob(string id, ImportKind kind)
{
    public const int MaxRejectsKept = 1000;

    private readonly ConcurrentQueue<ImportReject> _rejects = new();
    private long _rowsRead;
    private long _imported;
    private long _duplicates;
    private long _rejected;

    public string Id { get; } = id;

    public ImportKind Kind { get; } = kind;

    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public DateTimeOffset? FinishedAt { get; private set; }

    public string Status { get; private set; } = "running";

    public string? Error { get; private set; }

    public void RowRead() => Interlocked.Increment(ref _rowsRead);

    public void Done(int imported, int duplicates)
    {
        Interlocked.Add(ref _imported, imported);
        Interlocked.Add(ref _duplicates, duplicates);
    }

    public void Reject(long line, string field, string reason)
    {
        Interlocked.Increment(ref _rejected);
        if (_rejects.Count < MaxRejectsKept)
        {
            _rejects.Enqueue(new ImportReject(line, field, reason));
        }
    }

    public void Finish(string? error)
    {
        Error = error;
        Status = error is null ? "completed" : "failed";
        FinishedAt = DateTimeOffset.UtcNow;
    }

    public ImportProgress Progress() => new(
        Id, Kind.ToString().ToLowerInvariant(), Status, Interlocked.Read(ref _rowsRead), Interlocked.Read(ref _imported),
        Interlocked.Read(ref _duplicates), Interlocked.Read(ref _rejected), [.. _rejects.OrderBy(r => r.Line)], StartedAt, FinishedAt, Error);
}

public sealed record ImportReject(long Line, string Field, string Reason);

public sealed record ImportProgress(
    string ImportId,
    string Kind,
    string Status,
    long RowsRead,
    long RowsImported,
    long RowsDuplicate,
    long RowsRejected,
    ImportReject[] Rejects,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    string? Error);

/// <summary>The imports this gateway ran recently; kept in memory, the newest 100.</summary>
public sealed class ImportRegistry
{
    private readonly ConcurrentDictionary<string, ImportJob> _jobs = new(StringComparer.Ordinal);

    public ImportJob? Start(string id, ImportKind kind)
    {
        var job = new ImportJob(id, kind);
        if (!_jobs.TryAdd(id, job))
        {
            return _jobs[id].Status == "running" ? null : Replace(id, job);
        }

        foreach (var old in _jobs.Values.OrderByDescending(j => j.StartedAt).Skip(100))
        {
            _jobs.TryRemove(old.Id, out _);
        }

        return job;
    }

    public ImportJob? Find(string id) => _jobs.GetValueOrDefault(id);

    private ImportJob Replace(string id, ImportJob job)
    {
        _jobs[id] = job;
        return job;
    }
}
