using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansCrm.Api;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Silo.Storage;

/// <summary><see cref="IKeptAnswerIndex"/> on the deployment's database (<c>db/&lt;kind&gt;/0014_kept_answer_subjects.sql</c>).</summary>
public sealed class AdoNetKeptAnswerIndex(StorageSettings storage, IOptions<ClusterOptions> cluster) : IKeptAnswerIndex
{
    private readonly bool _postgres = storage.Kind == StorageKind.Postgres;
    private readonly string _serviceId = cluster.Value.ServiceId;

    public async Task AddAsync(string grainKey, IReadOnlyCollection<string> customerIds, DateTimeOffset expiresAt)
    {
        if (customerIds.Count == 0)
        {
            return;
        }

        await using var connection = await Db.OpenAsync(storage);
        await using var insert = Db.Command(connection, null, "");
        insert.Add("s", _serviceId);
        insert.Add("k", grainKey);
        insert.Add("e", Db.Time(_postgres, expiresAt));
        var rows = new List<string>(customerIds.Count);
        var i = 0;
        foreach (var id in customerIds.Distinct(StringComparer.Ordinal))
        {
            rows.Add($"(@s, @c{i}, @k, @e)");
            insert.Add($"c{i}", id);
            i++;
        }

        insert.CommandText = $"""
            INSERT INTO crm_kept_answer_subjects (service_id, customer_id, grain_key, expires_at) VALUES {string.Join(", ", rows)}
            ON CONFLICT (service_id, customer_id, grain_key) DO UPDATE SET expires_at = excluded.expires_at
            """;
        await insert.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<string>> KeysForAsync(IReadOnlyCollection<string> customerIds)
    {
        var keys = new List<string>();
        if (customerIds.Count == 0)
        {
            return keys;
        }

        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null, "");
        select.Add("s", _serviceId);
        var names = new List<string>(customerIds.Count);
        var i = 0;
        foreach (var id in customerIds.Distinct(StringComparer.Ordinal))
        {
            names.Add($"@c{i}");
            select.Add($"c{i}", id);
            i++;
        }

        select.CommandText = $"SELECT DISTINCT grain_key FROM crm_kept_answer_subjects WHERE service_id = @s AND customer_id IN ({string.Join(", ", names)})";
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }

    public async Task RemoveKeyAsync(string grainKey)
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var delete = Db.Command(connection, null, "DELETE FROM crm_kept_answer_subjects WHERE service_id = @s AND grain_key = @k");
        delete.Add("s", _serviceId);
        delete.Add("k", grainKey);
        await delete.ExecuteNonQueryAsync();
    }
}
