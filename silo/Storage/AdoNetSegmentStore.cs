using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansCrm.Customers;
using OrleansCrm.Hosting.Configuration;
using OrleansCrm.Segments;

namespace OrleansCrm.Silo.Storage;

/// <summary><see cref="ISegmentStore"/> on the deployment's database (<c>db/&lt;kind&gt;/0003_segment_members.sql</c>).</summary>
public sealed class AdoNetSegmentStore(StorageSettings storage, IOptions<ClusterOptions> cluster, TimeProvider clock) : ISegmentStore
{
    private readonly bool _postgres = storage.Kind == StorageKind.Postgres;
    private readonly string _serviceId = cluster.Value.ServiceId;

    private string True => _postgres ? "true" : "1";

    public async Task<int> ApplyAsync(string segmentId, int shard, IReadOnlyList<SegmentChange> changes, long countBefore)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var applied = await ApplyCoreAsync(segmentId, shard, changes, countBefore);
        OrleansCrm.Telemetry.CrmMetrics.StorageCall("segment.apply", started);
        return applied;
    }

    private async Task<int> ApplyCoreAsync(string segmentId, int shard, IReadOnlyList<SegmentChange> changes, long countBefore)
    {
        // The newest message per customer decides; older ones in the same batch would be overwritten anyway.
        var newest = changes.GroupBy(c => c.CustomerId, StringComparer.Ordinal).Select(g => g.MaxBy(c => c.Sequence)!).ToList();
        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var stored = new Dictionary<string, (bool Member, long Sequence)>(StringComparer.Ordinal);
        await using (var select = Db.Command(connection, transaction, ""))
        {
            select.Add("s", _serviceId);
            select.Add("g", segmentId);
            var names = new List<string>(newest.Count);
            for (var i = 0; i < newest.Count; i++)
            {
                names.Add($"@c{i}");
                select.Add($"c{i}", newest[i].CustomerId);
            }

            select.CommandText = $"SELECT customer_id, member, seq FROM crm_segment_members WHERE service_id = @s AND segment_id = @g AND customer_id IN ({string.Join(", ", names)})";
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                stored[reader.GetString(0)] = (_postgres ? reader.GetBoolean(1) : reader.GetInt64(1) == 1, reader.GetInt64(2));
            }
        }

        // A redelivered message, or one older than what is stored, changes nothing.
        var apply = newest.Where(c => !stored.TryGetValue(c.CustomerId, out var row) || row.Sequence < c.Sequence).ToList();
        if (apply.Count == 0)
        {
            return 0;
        }

        var delta = apply.Sum(c => (stored.TryGetValue(c.CustomerId, out var row) && row.Member, c.Member) switch
        {
            (false, true) => 1,
            (true, false) => -1,
            _ => 0,
        });
        var now = clock.GetUtcNow().UtcDateTime;
        await using (var upsert = Db.Command(connection, transaction, ""))
        {
            upsert.Add("s", _serviceId);
            upsert.Add("g", segmentId);
            upsert.Add("h", shard);
            upsert.Add("t", Db.Time(_postgres, now));
            var rows = new List<string>(apply.Count);
            for (var i = 0; i < apply.Count; i++)
            {
                rows.Add($"(@s, @g, @c{i}, @h, @m{i}, @q{i}, @t)");
                upsert.Add($"c{i}", apply[i].CustomerId);
                upsert.Add($"m{i}", _postgres ? apply[i].Member : apply[i].Member ? 1 : 0);
                upsert.Add($"q{i}", apply[i].Sequence);
            }

            upsert.CommandText = $"""
                INSERT INTO crm_segment_members (service_id, segment_id, customer_id, shard, member, seq, changed_at) VALUES {string.Join(", ", rows)}
                ON CONFLICT (service_id, segment_id, customer_id) DO UPDATE SET member = excluded.member, seq = excluded.seq, changed_at = excluded.changed_at
                WHERE crm_segment_members.seq < excluded.seq
                """;
            await upsert.ExecuteNonQueryAsync();
        }

        if (delta != 0)
        {
            await using var size = Db.Command(connection, transaction, """
                INSERT INTO crm_segment_sizes (service_id, segment_id, shard, day, members) VALUES (@s, @g, @h, @d, @n)
                ON CONFLICT (service_id, segment_id, shard, day) DO UPDATE SET members = excluded.members
                """);
            size.Add("s", _serviceId);
            size.Add("g", segmentId);
            size.Add("h", shard);
            var today = DateOnly.FromDateTime(now);
            size.Add("d", _postgres ? today : today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            size.Add("n", countBefore + delta);
            await size.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        var joins = apply.Count(c => c.Member && !(stored.TryGetValue(c.CustomerId, out var row) && row.Member));
        var leaves = apply.Count(c => !c.Member && stored.TryGetValue(c.CustomerId, out var row) && row.Member);
        OrleansCrm.Telemetry.CrmMetrics.SegmentChanges.Add(joins, new KeyValuePair<string, object?>("change", "join"));
        OrleansCrm.Telemetry.CrmMetrics.SegmentChanges.Add(leaves, new KeyValuePair<string, object?>("change", "leave"));
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
            members.Add(new SegmentMember(reader.GetString(0), reader.ReadTime(1, _postgres)));
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

    public async Task<IReadOnlyList<SegmentMembership>> MembershipsAsync(IReadOnlyList<string> customerIds)
    {
        var rows = new List<SegmentMembership>();
        if (customerIds.Count == 0)
        {
            return rows;
        }

        await using var connection = await OpenAsync();
        await using var command = Db.Command(connection, null, "");
        command.Add("s", _serviceId);
        var names = new List<string>(customerIds.Count);
        for (var i = 0; i < customerIds.Count; i++)
        {
            names.Add($"@c{i}");
            command.Add($"c{i}", customerIds[i]);
        }

        command.CommandText = $"SELECT segment_id, customer_id, member, changed_at FROM crm_segment_members WHERE service_id = @s AND customer_id IN ({string.Join(", ", names)}) ORDER BY segment_id, customer_id";
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new SegmentMembership(reader.GetString(0), reader.GetString(1), Convert.ToBoolean(reader.GetValue(2), CultureInfo.InvariantCulture), reader.ReadTime(3, _postgres)));
        }

        return rows;
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
