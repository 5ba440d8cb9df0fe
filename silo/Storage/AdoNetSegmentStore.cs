using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.Options;
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
        await using (var select = Db.Command(connection, transaction, "SELECT member, seq FROM crm_segment_members WHERE service_id = @s AND segment_id = @g AND customer_id = @c"))
        {
            select.Add("s", _serviceId);
            select.Add("g", segmentId);
            select.Add("c", customerId);
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

        await using (var upsert = Db.Command(connection, transaction, """
            INSERT INTO crm_segment_members (service_id, segment_id, customer_id, shard, member, seq, changed_at)
            VALUES (@s, @g, @c, @h, @m, @q, @t)
            ON CONFLICT (service_id, segment_id, customer_id) DO UPDATE SET member = excluded.member, seq = excluded.seq, changed_at = excluded.changed_at
            """))
        {
            upsert.Add("s", _serviceId);
            upsert.Add("g", segmentId);
            upsert.Add("c", customerId);
            upsert.Add("h", shard);
            upsert.Add("m", _postgres ? member : member ? 1 : 0);
            upsert.Add("q", sequence);
            upsert.Add("t", _postgres ? clock.GetUtcNow().UtcDateTime : clock.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
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
        await using var command = Db.Command(connection, null, $"SELECT count(*) FROM crm_segment_members WHERE service_id = @s AND segment_id = @g AND shard = @h AND member = {(_postgres ? "true" : "1")}");
        command.Add("s", _serviceId);
        command.Add("g", segmentId);
        command.Add("h", shard);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<string>> MembersAsync(string segmentId, int shard, string? afterCustomerId, int limit)
    {
        await using var connection = await OpenAsync();
        await using var command = Db.Command(connection, null,
            $"SELECT customer_id FROM crm_segment_members WHERE service_id = @s AND segment_id = @g AND shard = @h AND member = {(_postgres ? "true" : "1")} AND customer_id > @a ORDER BY customer_id LIMIT @l");
        command.Add("s", _serviceId);
        command.Add("g", segmentId);
        command.Add("h", shard);
        command.Add("a", afterCustomerId ?? "");
        command.Add("l", limit);
        return await ReadStringsAsync(command);
    }

    public async Task<IReadOnlyList<string>> CustomerIdsAsync(string? afterCustomerId, int limit)
    {
        await using var connection = await OpenAsync();
        await using var command = Db.Command(connection, null,
            "SELECT DISTINCT customer_id FROM crm_customer_events WHERE service_id = @s AND customer_id > @a ORDER BY customer_id LIMIT @l");
        command.Add("s", _serviceId);
        command.Add("a", afterCustomerId ?? "");
        command.Add("l", limit);
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

    private Task<DbConnection> OpenAsync() => Db.OpenAsync(storage);
}
