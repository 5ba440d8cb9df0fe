using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using OrleansCrm.Hosting.Configuration;
using OrleansCrm.Segments;

namespace OrleansCrm.Silo.Storage;

/// <summary><see cref="ISegmentStore"/> on the deployment's database (<c>db/&lt;kind&gt;/0003_segment_members.sql</c>).</summary>
public sealed class AdoNetSegmentStore(StorageSettings storage, IOptions<ClusterOptions> cluster, TimeProvider clock) : ISegmentStore
{
    private readonly bool _postgres = storage.Kind == StorageKind.Postgres;
    private readonly string _serviceId = cluster.Value.ServiceId;

    public async Task<int> ApplyAsync(string segmentId, int shard, string customerId, bool member, long sequence)
    {
        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        bool? was = null;
        await using (var select = Command(connection, transaction, "SELECT member, seq FROM crm_segment_members WHERE service_id = @s AND segment_id = @g AND customer_id = @c"))
        {
            Add(select, "s", _serviceId);
            Add(select, "g", segmentId);
            Add(select, "c", customerId);
            await using var reader = await select.ExecuteReaderAsync();
            if (await reader.ReadAsync())
            {
                if (reader.GetInt64(1) >= sequence)
                {
                    // Already applied (a redelivery) or older than what is stored: nothing changes.
                    return 0;
                }

                was = _postgres ? reader.GetBoolean(0) : reader.GetInt64(0) == 1;
            }
        }

        await using (var upsert = Command(connection, transaction, """
            INSERT INTO crm_segment_members (service_id, segment_id, customer_id, shard, member, seq, changed_at)
            VALUES (@s, @g, @c, @h, @m, @q, @t)
            ON CONFLICT (service_id, segment_id, customer_id) DO UPDATE SET member = excluded.member, seq = excluded.seq, changed_at = excluded.changed_at
            """))
        {
            Add(upsert, "s", _serviceId);
            Add(upsert, "g", segmentId);
            Add(upsert, "c", customerId);
            Add(upsert, "h", shard);
            Add(upsert, "m", _postgres ? member : member ? 1 : 0);
            Add(upsert, "q", sequence);
            Add(upsert, "t", _postgres ? clock.GetUtcNow().UtcDateTime : clock.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            await upsert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return (was ?? false, member) switch
        {
            (false, true) => 1,
            (true, false) => -1,
            _ => 0,
        };
    }

    public async Task<long> CountAsync(string segmentId, int shard)
    {
        await using var connection = await OpenAsync();
        await using var command = Command(connection, null, $"SELECT count(*) FROM crm_segment_members WHERE service_id = @s AND segment_id = @g AND shard = @h AND member = {(_postgres ? "true" : "1")}");
        Add(command, "s", _serviceId);
        Add(command, "g", segmentId);
        Add(command, "h", shard);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<string>> MembersAsync(string segmentId, int shard, string? afterCustomerId, int limit)
    {
        await using var connection = await OpenAsync();
        await using var command = Command(connection, null,
            $"SELECT customer_id FROM crm_segment_members WHERE service_id = @s AND segment_id = @g AND shard = @h AND member = {(_postgres ? "true" : "1")} AND customer_id > @a ORDER BY customer_id LIMIT @l");
        Add(command, "s", _serviceId);
        Add(command, "g", segmentId);
        Add(command, "h", shard);
        Add(command, "a", afterCustomerId ?? "");
        Add(command, "l", limit);
        return await ReadStringsAsync(command);
    }

    public async Task<IReadOnlyList<string>> CustomerIdsAsync(string? afterCustomerId, int limit)
    {
        await using var connection = await OpenAsync();
        await using var command = Command(connection, null,
            "SELECT DISTINCT customer_id FROM crm_customer_events WHERE service_id = @s AND customer_id > @a ORDER BY customer_id LIMIT @l");
        Add(command, "s", _serviceId);
        Add(command, "a", afterCustomerId ?? "");
        Add(command, "l", limit);
        return await ReadStringsAsync(command);
    }

    private static async Task<IReadOnlyList<string>> ReadStringsAsync(DbCommand command)
    {
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private async Task<DbConnection> OpenAsync()
    {
        DbConnection connection = _postgres ? new NpgsqlConnection(storage.ConnectionString) : new SqliteConnection(storage.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }
}
