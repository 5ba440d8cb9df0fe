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
public sealed class AdoNetCustomerLog(StorageSettings storage, IOptions<ClusterOptions> cluster, ICustomerWriter writer) : ICustomerLog
{
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

    public async Task<StoredCustomer> ReadCustomerAsync(string customerId, int limit)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        await using var connection = await OpenAsync();
        const string State = "FROM crm_customer_state WHERE service_id = @s AND customer_id = @c";
        var statements = $"SELECT payload, applied_seq, version {State}; " +
            $"{SelectColumns} WHERE service_id = @s AND customer_id = @c AND seq > COALESCE((SELECT applied_seq {State}), 0) ORDER BY seq LIMIT @limit";
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
            // SQLite: a read transaction sees one state of the file for both statements.
            transaction = await connection.BeginTransactionAsync();
            command.Transaction = transaction;
            command.CommandText = statements;
        }

        command.Add("s", _serviceId);
        command.Add("c", customerId);
        command.Add("limit", limit);
        StoredSnapshot? snapshot = null;
        IReadOnlyList<LoggedEvent> tail;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            if (await reader.ReadAsync())
            {
                snapshot = new StoredSnapshot((byte[])reader.GetValue(0), reader.GetInt64(1), reader.GetInt64(2));
            }

            await reader.NextResultAsync();
            tail = await ReadRowsAsync(reader);
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
        return new StoredCustomer(snapshot, tail);
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
