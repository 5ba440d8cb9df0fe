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

    private string True => _postgres ? "true" : "1";

    public async Task<int> ApplyAsync(string segmentId, int shard, string customerId, bool member, long sequence, long countBefore)
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

        var delta = (was ?? false, member) switch
        {
            (false, true) => 1,
            (true, false) => -1,
            _ => 0,
        };
        if (delta != 0)
        {
            await using var size = Db.Command(connection, transaction, """
                INSERT INTO crm_segment_sizes (service_id, segment_id, shard, day, members) VALUES (@s, @g, @h, @d, @n)
                ON CONFLICT (service_id, segment_id, shard, day) DO UPDATE SET members = excluded.members
                """);
            size.Add("s", _serviceId);
            size.Add("g", segmentId);
            size.Add("h", shard);
            var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
            size.Add("d", _postgres ? today : today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            size.Add("n", countBefore + delta);
            await size.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return delta;
    }

    public async Task<long> CountAsync(string segmentId, int shard)
    {
        await using var connection = await OpenAsync();
        await using var command = Db.Command(connection, null, $"SELECT count(*) FROM crm_segment_members WHERE service_id = @s AND segment_id = @g AND shard = @h AND member = {True}");
        command.Add("s", _serviceId);
        command.Add("g", segmentId);
        command.Add("h", shard);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<SegmentMember>> MembersAsync(string segmentId, int shard, string? afterCustomerId, int limit)
    {
        await using var connection = await OpenAsync();
        await using var command = Db.Command(connection, null,
            $"SELECT customer_id, changed_at FROM crm_segment_members WHERE service_id = @s AND segment_id = @g AND shard = @h AND member = {True} AND customer_id > @a ORDER BY customer_id LIMIT @l");
        command.Add("s", _serviceId);
        command.Add("g", segmentId);
        command.Add("h", shard);
        command.Add("a", afterCustomerId ?? "");
        command.Add("l", limit);
        var members = new List<SegmentMember>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var since = _postgres
                ? new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc))
                : DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            members.Add(new SegmentMember(reader.GetString(0), since));
        }

        return members;
    }

    public async Task<bool> IsMemberAsync(string segmentId, string customerId)
    {
        await using var connection = await OpenAsync();
        await using var command = Db.Command(connection, null,
            $"SELECT count(*) FROM crm_segment_members WHERE service_id = @s AND segment_id = @g AND customer_id = @c AND member = {True}");
        command.Add("s", _serviceId);
        command.Add("g", segmentId);
        command.Add("c", customerId);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture) > 0;
    }

    public async Task<IReadOnlyList<string>> SampleMembersAsync(string segmentId, int limit)
    {
        await using var connection = await OpenAsync();
        await using var command = Db.Command(connection, null,
            $"SELECT customer_id FROM crm_segment_members WHERE service_id = @s AND segment_id = @g AND member = {True} ORDER BY random() LIMIT @l");
        command.Add("s", _serviceId);
        command.Add("g", segmentId);
        command.Add("l", limit);
        return await ReadStringsAsync(command);
    }

    public async Task<IReadOnlyList<(DateOnly Day, int Shard, long Count)>> SizesAsync(string segmentId)
    {
        await using var connection = await OpenAsync();
        await using var command = Db.Command(connection, null,
            "SELECT day, shard, members FROM crm_segment_sizes WHERE service_id = @s AND segment_id = @g ORDER BY day, shard");
        command.Add("s", _serviceId);
        command.Add("g", segmentId);
        var sizes = new List<(DateOnly, int, long)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var day = _postgres ? DateOnly.FromDateTime(reader.GetDateTime(0)) : DateOnly.ParseExact(reader.GetString(0), "yyyy-MM-dd", CultureInfo.InvariantCulture);
            sizes.Add((day, reader.GetInt32(1), reader.GetInt64(2)));
        }

        return sizes;
    }

    public async Task<long> CustomerCountAsync()
    {
        await using var connection = await OpenAsync();
        await using var command = Db.Command(connection, null, "SELECT count(DISTINCT customer_id) FROM crm_customer_events WHERE service_id = @s");
        command.Add("s", _serviceId);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<string>> SampleCustomersAsync(int limit)
    {
        await using var connection = await OpenAsync();
        await using var command = Db.Command(connection, null,
            "SELECT customer_id FROM (SELECT DISTINCT customer_id FROM crm_customer_events WHERE service_id = @s) AS ids ORDER BY random() LIMIT @l");
        command.Add("s", _serviceId);
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
