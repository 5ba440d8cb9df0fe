using System.Data.Common;
using System.Globalization;
using System.Text;

namespace OrleansCrm.Silo.Storage;

/// <summary>One grain state to store: the state name, the grain id as Orleans prints it, the serialised state and the
/// version the grain last read or wrote (0: none stored).</summary>
public sealed record GrainStateWrite(string StateName, string GrainId, byte[] Payload, long ExpectedVersion);

public sealed record StoredGrainState(byte[] Payload, long Version);

/// <summary>The statements for grain states (<c>crm_grain_state</c>) in a group commit: version-checked upserts, many
/// grains per statement.</summary>
internal sealed class GrainStateSql(bool postgres, string serviceId, TimeProvider clock)
{
    private int RowsPerStatement => postgres ? 500 : CustomerCommitSql.SqliteRowsPerStatement;

    /// <summary>Each write's new version, or null where the stored version was not the expected one.</summary>
    public async Task<long?[]> WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<GrainStateWrite> writes)
    {
        var versions = new long?[writes.Count];
        var pending = writes.Select((w, i) => (Index: i, Write: w)).ToList();
        var now = Db.Time(postgres, clock.GetUtcNow());

        // An upsert may touch a row once per statement: the same grain twice in a batch (two activations racing) goes
        // into a later statement, checked against the first's version.
        while (pending.Count > 0)
        {
            var round = pending.DistinctBy(p => (p.Write.StateName, p.Write.GrainId)).Take(RowsPerStatement).ToList();
            var taken = round.Select(r => r.Index).ToHashSet();
            pending = [.. pending.Where(p => !taken.Contains(p.Index))];

            await using var upsert = Db.Command(connection, transaction, "");
            upsert.Add("s", serviceId);
            upsert.Add("t", now);
            var sql = new StringBuilder("INSERT INTO crm_grain_state (service_id, state_name, grain_id, version, payload, updated_at) VALUES ");
            for (var i = 0; i < round.Count; i++)
            {
                var w = round[i].Write;
                sql.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"(@s, @n{i}, @g{i}, @v{i}, @p{i}, @t)");
                upsert.Add($"n{i}", w.StateName);
                upsert.Add($"g{i}", w.GrainId);
                upsert.Add($"v{i}", w.ExpectedVersion + 1);
                upsert.Add($"p{i}", w.Payload);
            }

            sql.Append("""
                 ON CONFLICT (service_id, state_name, grain_id) DO UPDATE
                SET version = excluded.version, payload = excluded.payload, updated_at = excluded.updated_at
                WHERE crm_grain_state.version = excluded.version - 1
                RETURNING state_name, grain_id, version
                """);
            upsert.CommandText = sql.ToString();
            var written = new Dictionary<(string, string), long>();
            await using (var reader = await upsert.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    written[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
                }
            }

            foreach (var (index, w) in round)
            {
                versions[index] = written.TryGetValue((w.StateName, w.GrainId), out var v) && v == w.ExpectedVersion + 1 ? v : null;
            }
        }

        return versions;
    }

    public async Task<StoredGrainState?> ReadAsync(DbConnection connection, string stateName, string grainId)
    {
        await using var select = Db.Command(connection, null, "SELECT payload, version FROM crm_grain_state WHERE service_id = @s AND state_name = @n AND grain_id = @g");
        select.Add("s", serviceId);
        select.Add("n", stateName);
        select.Add("g", grainId);
        await using var reader = await select.ExecuteReaderAsync();
        return await reader.ReadAsync() ? new StoredGrainState((byte[])reader.GetValue(0), reader.GetInt64(1)) : null;
    }

    public async Task<bool> DeleteAsync(DbConnection connection, string stateName, string grainId, long expectedVersion)
    {
        await using var delete = Db.Command(connection, null, "DELETE FROM crm_grain_state WHERE service_id = @s AND state_name = @n AND grain_id = @g AND version = @v");
        delete.Add("s", serviceId);
        delete.Add("n", stateName);
        delete.Add("g", grainId);
        delete.Add("v", expectedVersion);
        return await delete.ExecuteNonQueryAsync() == 1;
    }
}
