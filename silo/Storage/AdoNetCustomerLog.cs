using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansCrm.Customers;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Silo.Storage;

/// <summary>
/// <see cref="ICustomerLog"/> on the deployment's database (table <c>crm_customer_events</c>, created by
/// <c>db/&lt;kind&gt;/0002_customer_events.sql</c>). SQLite stores times as sortable ISO text and the payload as JSON
/// text; PostgreSQL as <c>timestamptz</c> and <c>jsonb</c>.
/// </summary>
public sealed class AdoNetCustomerLog(StorageSettings storage, IOptions<ClusterOptions> cluster, ICustomerWriter writer) : ICustomerLog, IAsyncDisposable
{
    /// <summary>Activation reads one PostgreSQL read loop gathers into one round trip.</summary>
    private const int MaxReadsPerBatch = 128;

    /// <summary>Read loops on PostgreSQL: while one batch is in the database the next fills.</summary>
    private const int ReadLoops = 4;

    private readonly System.Threading.Channels.Channel<PendingRead> _reads = System.Threading.Channels.Channel.CreateUnbounded<PendingRead>();
    private Task[]? _readLoops;

    private const int RowsPerStatement = 200;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly bool _postgres = storage.Kind == StorageKind.Postgres;
    private readonly string _serviceId = cluster.Value.ServiceId;

    /// <summary>A plain append goes through the silo's group-commit writer like every customer write.</summary>
    public async Task<IReadOnlyList<LogAppend>> AppendAsync(string customerId, IReadOnlyList<CustomerEvent> events, string? originCustomerId = null) =>
        (await writer.CommitAsync(new CustomerCommit(customerId, events, originCustomerId))).Appends;

    public async Task<IReadOnlyList<LoggedEvent>> ReadAfterAsync(string customerId, long afterSequence, int limit)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"{SelectColumns} WHERE service_id = @s AND customer_id = @c AND seq > @after ORDER BY seq LIMIT @limit";
        command.Add("s", _serviceId);
        command.Add("c", customerId);
        command.Add("after", afterSequence);
        command.Add("limit", limit);
        return await ReadAsync(command);
    }

    public async Task<IReadOnlyList<StoredDecision>> ReadDecisionsAsync(string customerId)
    {
        await using var connection = await OpenAsync();
        await using var command = Db.Command(connection, null, "SELECT decision_key, decided_at, record FROM crm_campaign_decisions WHERE service_id = @s AND customer_id = @c");
        command.Add("s", _serviceId);
        command.Add("c", customerId);
        var decisions = new List<StoredDecision>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            decisions.Add(new StoredDecision(reader.GetString(0), reader.ReadTime(1, _postgres), reader.GetString(2)));
        }

        return decisions;
    }

    /// <summary>
    /// On PostgreSQL, activation reads from all the silo's customers are gathered like writes: a few read loops each
    /// take whatever has queued since their last read (up to <see cref="MaxReadsPerBatch"/>) and read all their
    /// snapshots and log tails in one round trip and one repeatable-read snapshot. No wait: a lone read goes at once.
    /// A first wake of an imported base or a customers import is mostly these reads, and one statement pair per
    /// customer cost PostgreSQL more in per-statement work than in the reads themselves.
    /// </summary>
    public Task<StoredCustomer> ReadCustomerAsync(string customerId, int limit)
    {
        if (!_postgres)
        {
            return ReadOneCustomerAsync(customerId, limit);
        }

        if (_readLoops is null)
        {
            lock (_reads)
            {
                _readLoops ??= [.. Enumerable.Range(0, ReadLoops).Select(_ => Task.Run(ReadLoopAsync))];
            }
        }

        var pending = new PendingRead(customerId, limit);
        if (!_reads.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(AdoNetCustomerLog), "the silo is stopping");
        }

        return pending.Done.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _reads.Writer.TryComplete();
        if (_readLoops is { } loops)
        {
            await Task.WhenAll(loops);
        }
    }

    private sealed record PendingRead(string CustomerId, int Limit)
    {
        public TaskCompletionSource<StoredCustomer> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private async Task ReadLoopAsync()
    {
        var batch = new List<PendingRead>(MaxReadsPerBatch);
        while (await _reads.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxReadsPerBatch && _reads.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                await ReadBatchAsync(batch);
            }
            catch (Exception) when (batch.Count > 1)
            {
                // One at a time, so a read the database refuses (a NUL in an id) fails only its own activation.
                foreach (var read in batch)
                {
                    try
                    {
                        read.Done.TrySetResult(await ReadOneCustomerAsync(read.CustomerId, read.Limit));
                    }
                    catch (Exception one)
                    {
                        read.Done.TrySetException(one);
                    }
                }
            }
            catch (Exception e)
            {
                batch[0].Done.TrySetException(e);
            }

            batch.Clear();
        }
    }

    /// <summary>Every customer of <paramref name="batch"/>: its snapshot and the first page of log rows above it.</summary>
    private async Task ReadBatchAsync(List<PendingRead> batch)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var ids = batch.Select(r => r.CustomerId).Distinct(StringComparer.Ordinal).ToArray();
        var limit = batch.Max(r => r.Limit);
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();

        // Whether each customer has decision rows: a LATERAL probe with LIMIT 1 per id, because the planner turned an
        // EXISTS semi-join into a hash join over the whole decision table (measured: a launch over 60,000 customers
        // fell from 1,750 to 1,116 decisions/s as the table filled).
        command.CommandText = """
            BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
            SELECT customer_id, payload, applied_seq, version FROM crm_customer_state WHERE service_id = @s AND customer_id = ANY(@ids);
            SELECT e.seq, e.customer_id, e.event_id, e.type, e.occurred_at, e.recorded_at, e.source, e.channel, e.data::text, e.origin_customer_id
            FROM unnest(@ids) AS c(id)
            CROSS JOIN LATERAL (
                SELECT * FROM crm_customer_events ev
                WHERE ev.service_id = @s AND ev.customer_id = c.id
                  AND ev.seq > COALESCE((SELECT st.applied_seq FROM crm_customer_state st WHERE st.service_id = @s AND st.customer_id = c.id), 0)
                ORDER BY ev.seq LIMIT @limit) e
            ORDER BY e.customer_id, e.seq;
            SELECT c.id FROM unnest(@ids) AS c(id)
            CROSS JOIN LATERAL (SELECT 1 FROM crm_campaign_decisions d WHERE d.service_id = @s AND d.customer_id = c.id LIMIT 1) d;
            COMMIT
            """;
        command.Add("s", _serviceId);
        command.Add("ids", ids);
        command.Add("limit", limit);
        var snapshots = new Dictionary<string, StoredSnapshot>(StringComparer.Ordinal);
        var deciders = new HashSet<string>(StringComparer.Ordinal);
        IReadOnlyList<LoggedEvent> rows;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            // Npgsql skips the BEGIN, which returns no rows: the reader starts on the snapshots.
            while (await reader.ReadAsync())
            {
                snapshots[reader.GetString(0)] = new StoredSnapshot((byte[])reader.GetValue(1), reader.GetInt64(2), reader.GetInt64(3));
            }

            await reader.NextResultAsync();
            rows = await ReadRowsAsync(reader);
            await reader.NextResultAsync();
            while (await reader.ReadAsync())
            {
                deciders.Add(reader.GetString(0));
            }

            while (await reader.NextResultAsync())
            {
                // The COMMIT's empty result.
            }
        }

        var tails = rows.GroupBy(r => r.CustomerId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        OrleansCrm.Telemetry.CrmMetrics.StorageCall("customer.read", started);
        foreach (var read in batch)
        {
            IReadOnlyList<LoggedEvent> tail = tails.TryGetValue(read.CustomerId, out var all) ? all.Count > read.Limit ? all[..read.Limit] : all : [];
            read.Done.TrySetResult(new StoredCustomer(snapshots.GetValueOrDefault(read.CustomerId), tail, deciders.Contains(read.CustomerId)));
        }
    }

    private async Task<StoredCustomer> ReadOneCustomerAsync(string customerId, int limit)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await using var connection = await OpenAsync();
        const string State = "FROM crm_customer_state WHERE service_id = @s AND customer_id = @c";
        var statements = $"SELECT payload, applied_seq, version {State}; " +
            $"{SelectColumns} WHERE service_id = @s AND customer_id = @c AND seq > COALESCE((SELECT applied_seq {State}), 0) ORDER BY seq LIMIT @limit; " +
            "SELECT EXISTS (SELECT 1 FROM crm_campaign_decisions WHERE service_id = @s AND customer_id = @c)";
        DbTransaction? transaction = null;
        await using var command = connection.CreateCommand();
        if (_postgres)
        {
            // One round trip: the two reads share one snapshot of the database (repeatable read), so a snapshot written
            // between them cannot make the log read start after events the first read's snapshot lacks.
            command.CommandText = $"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; {statements}; COMMIT";
        }
        else
        {
            // SQLite: a read transaction sees one state of the file for both statements. Deferred: Microsoft.Data.Sqlite
            // begins IMMEDIATE by default, which takes the write lock, so every activation's read queued behind the
            // group commit and each other (busy waits; 51% of the CPU idle while an import woke customers).
            transaction = ((Microsoft.Data.Sqlite.SqliteConnection)connection).BeginTransaction(deferred: true);
            command.Transaction = transaction;
            command.CommandText = statements;
        }

        command.Add("s", _serviceId);
        command.Add("c", customerId);
        command.Add("limit", limit);
        StoredSnapshot? snapshot = null;
        IReadOnlyList<LoggedEvent> tail;
        var hasDecisions = false;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            if (await reader.ReadAsync())
            {
                snapshot = new StoredSnapshot((byte[])reader.GetValue(0), reader.GetInt64(1), reader.GetInt64(2));
            }

            await reader.NextResultAsync();
            tail = await ReadRowsAsync(reader);
            await reader.NextResultAsync();
            hasDecisions = await reader.ReadAsync() && reader.GetBoolean(0);
            while (await reader.NextResultAsync())
            {
                // The COMMIT's empty result.
            }
        }

        if (transaction is not null)
        {
            await transaction.CommitAsync();
            await transaction.DisposeAsync();
        }

        OrleansCrm.Telemetry.CrmMetrics.StorageCall("customer.read", started);
        return new StoredCustomer(snapshot, tail, hasDecisions);
    }

    public async Task<IReadOnlyList<LoggedEvent>> ReadPageAsync(string customerId, (DateTimeOffset OccurredAt, long Sequence)? before, int limit)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        var where = "service_id = @s AND customer_id = @c";
        if (before is { } b)
        {
            where += " AND (occurred_at < @bt OR (occurred_at = @bt AND seq < @bs))";
            command.Add("bt", Time(b.OccurredAt));
            command.Add("bs", b.Sequence);
        }

        command.CommandText = $"{SelectColumns} WHERE {where} ORDER BY occurred_at DESC, seq DESC LIMIT @limit";
        command.Add("s", _serviceId);
        command.Add("c", customerId);
        command.Add("limit", limit);
        return await ReadAsync(command);
    }

    public async Task<int> RedactAsync(string customerId, Func<EventData, EventData> redact)
    {
        // Pages by sequence, each page rewritten in one transaction; only rows whose payload changes are written, so a
        // repeat writes nothing. The payload is compared in its serialised form, which is what the column holds.
        var changed = 0;
        long after = 0;
        await using var connection = await OpenAsync();
        while (true)
        {
            var page = new List<(long Sequence, string Data)>();
            await using (var select = Db.Command(connection, null,
                $"SELECT seq, {(_postgres ? "data::text" : "data")} FROM crm_customer_events WHERE service_id = @s AND customer_id = @c AND seq > @after ORDER BY seq LIMIT @limit"))
            {
                select.Add("s", _serviceId);
                select.Add("c", customerId);
                select.Add("after", after);
                select.Add("limit", RowsPerStatement);
                await using var reader = await select.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    page.Add((reader.GetInt64(0), reader.GetString(1)));
                }
            }

            if (page.Count == 0)
            {
                return changed;
            }

            await using (var transaction = await connection.BeginTransactionAsync())
            {
                foreach (var (sequence, json) in page)
                {
                    var data = JsonSerializer.Deserialize<EventData>(json, Json) ?? EventData.Empty;
                    var redacted = JsonSerializer.Serialize(redact(data), Json);
                    if (redacted == JsonSerializer.Serialize(data, Json))
                    {
                        continue;
                    }

                    await using var update = Db.Command(connection, transaction,
                        $"UPDATE crm_customer_events SET data = {(_postgres ? "CAST(@d AS jsonb)" : "@d")} WHERE seq = @q AND service_id = @s AND customer_id = @c");
                    update.Add("d", redacted);
                    update.Add("q", sequence);
                    update.Add("s", _serviceId);
                    update.Add("c", customerId);
                    changed += await update.ExecuteNonQueryAsync();
                }

                await transaction.CommitAsync();
            }

            after = page[^1].Sequence;
        }
    }

    public async Task<IReadOnlyList<PurchaseAggregate>> ReadPurchaseAggregatesAsync(DateTimeOffset now)
    {
        await using var connection = await OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT customer_id, max(occurred_at), count(*), coalesce(sum(amount), 0) FROM crm_customer_events WHERE service_id = @s AND type = 'purchase' GROUP BY customer_id";
        command.Add("s", _serviceId);
        var rows = new List<PurchaseAggregate>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var last = ReadTime(reader, 1);
            rows.Add(new PurchaseAggregate(reader.GetString(0), Math.Max(0, (now - last).TotalDays), reader.GetInt64(2), Convert.ToDecimal(reader.GetValue(3), CultureInfo.InvariantCulture)));
        }

        return rows;
    }

    public async Task<IReadOnlyList<CustomerTrainingRow>> ReadTrainingRowsAsync()
    {
        var attributes = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        await using var connection = await OpenAsync();
        await using (var profiles = connection.CreateCommand())
        {
            profiles.CommandText = $"SELECT customer_id, {(_postgres ? "data::text" : "data")} FROM crm_customer_events WHERE service_id = @s AND type = 'profile.changed' ORDER BY customer_id, occurred_at, seq";
            profiles.Add("s", _serviceId);
            await using var reader = await profiles.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var data = JsonSerializer.Deserialize<EventData>(reader.GetString(1), Json);
                if (data?.Profile?.Attributes is not { } given)
                {
                    continue;
                }

                var id = reader.GetString(0);
                if (!attributes.TryGetValue(id, out var merged))
                {
                    attributes[id] = merged = new Dictionary<string, string>(StringComparer.Ordinal);
                }

                foreach (var (key, value) in given)
                {
                    merged[key] = value;
                }
            }
        }

        var purchases = new Dictionary<string, (long, decimal, DateTimeOffset, DateTimeOffset)>(StringComparer.Ordinal);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT customer_id, min(occurred_at), max(occurred_at), count(*), coalesce(sum(amount), 0) FROM crm_customer_events WHERE service_id = @s AND type = 'purchase' GROUP BY customer_id";
            command.Add("s", _serviceId);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                purchases[reader.GetString(0)] = (reader.GetInt64(3), Convert.ToDecimal(reader.GetValue(4), CultureInfo.InvariantCulture), ReadTime(reader, 1), ReadTime(reader, 2));
            }
        }

        return [.. attributes.Keys.Union(purchases.Keys).Select(id =>
        {
            var hasPurchases = purchases.TryGetValue(id, out var p);
            return new CustomerTrainingRow(id, attributes.GetValueOrDefault(id) ?? [], hasPurchases ? p.Item1 : 0, hasPurchases ? p.Item2 : 0, hasPurchases ? p.Item3 : null, hasPurchases ? p.Item4 : null);
        })];
    }

    private string SelectColumns =>
        $"SELECT seq, customer_id, event_id, type, occurred_at, recorded_at, source, channel, {(_postgres ? "data::text" : "data")}, origin_customer_id FROM crm_customer_events";

    private async Task<IReadOnlyList<LoggedEvent>> ReadAsync(DbCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        return await ReadRowsAsync(reader);
    }

    private async Task<IReadOnlyList<LoggedEvent>> ReadRowsAsync(DbDataReader reader)
    {
        var rows = new List<LoggedEvent>();
        while (await reader.ReadAsync())
        {
            var data = JsonSerializer.Deserialize<EventData>(reader.GetString(8), Json) ?? EventData.Empty;
            var e = new CustomerEvent(
                reader.GetString(2),
                reader.GetString(3),
                ReadTime(reader, 4),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7),
                data);
            rows.Add(new LoggedEvent(reader.GetInt64(0), reader.GetString(1), e, ReadTime(reader, 5), reader.IsDBNull(9) ? null : reader.GetString(9)));
        }

        return rows;
    }

    private Task<DbConnection> OpenAsync() => Db.OpenAsync(storage);

    private object Time(DateTimeOffset at) => Db.Time(_postgres, at);

    private DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => reader.ReadTime(ordinal, _postgres);
}
