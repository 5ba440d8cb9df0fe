using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansCrm.Access;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Silo.Storage;

/// <summary>
/// <see cref="IAccessStore"/> on the deployment's database (<c>db/&lt;kind&gt;/0008_access.sql</c>). Audit appends from
/// concurrent callers are group-committed: one writer drains whatever is waiting into one transaction (one array insert
/// on PostgreSQL) and answers every caller after the commit, so a busy gateway pays one commit per batch, not per
/// request. A record whose id is already stored is skipped, so a batch retried after an unknown outcome is stored once.
/// </summary>
public sealed class AdoNetAccessStore : IAccessStore, IAsyncDisposable
{
    private const int MaxBatch = 500;
    private readonly StorageSettings _storage;
    private readonly bool _postgres;
    private readonly string _serviceId;
    private readonly Channel<(AuditEntry[] Entries, TaskCompletionSource Done)> _audit =
        Channel.CreateUnbounded<(AuditEntry[], TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Task _writer;

    public AdoNetAccessStore(StorageSettings storage, IOptions<ClusterOptions> cluster)
    {
        _storage = storage;
        _postgres = storage.Kind == StorageKind.Postgres;
        _serviceId = cluster.Value.ServiceId;
        _writer = Task.Run(WriteAuditLoopAsync);
    }

    public async Task<UserRecord?> FindUserAsync(string login)
    {
        var users = await ReadUsersAsync("AND login = @l", login);
        return users.FirstOrDefault();
    }

    public Task<UserRecord[]> ListUsersAsync() => ReadUsersAsync("", null);

    public async Task<bool> SaveUserAsync(UserRecord user, bool create)
    {
        await using var connection = await Db.OpenAsync(_storage);
        await using var command = Db.Command(connection, null, create
            ? $"""
              INSERT INTO crm_users (service_id, login, password_hash, roles, org_unit, enabled, created_at, changed_at, sessions_from)
              VALUES (@s, @l, @p, @r, @o, @e, @c, @t, @f) ON CONFLICT (service_id, login) DO NOTHING
              """
            : "UPDATE crm_users SET password_hash = @p, roles = @r, org_unit = @o, enabled = @e, changed_at = @t, sessions_from = @f WHERE service_id = @s AND login = @l");
        command.Add("s", _serviceId);
        command.Add("l", user.Login);
        command.Add("p", user.PasswordHash);
        command.Add("r", string.Join(',', user.Roles));
        command.Add("o", user.OrgUnit);
        command.Add("e", _postgres ? user.Enabled : user.Enabled ? 1 : 0);
        command.Add("c", Db.Time(_postgres, user.CreatedAt));
        command.Add("t", Db.Time(_postgres, user.ChangedAt));
        command.Add("f", user.SessionsFrom is { } from ? Db.Time(_postgres, from) : null);
        return await command.ExecuteNonQueryAsync() == 1;
    }

    public async Task<ApiKeyRecord?> FindApiKeyAsync(string id) => (await ReadKeysAsync("AND key_id = @k", id)).FirstOrDefault();

    public Task<ApiKeyRecord[]> ListApiKeysAsync() => ReadKeysAsync("", null);

    public async Task CreateApiKeyAsync(ApiKeyRecord key)
    {
        await using var connection = await Db.OpenAsync(_storage);
        await using var command = Db.Command(connection, null, """
            INSERT INTO crm_api_keys (service_id, key_id, name, secret_hash, roles, org_unit, created_by, created_at, revoked_at)
            VALUES (@s, @k, @n, @h, @r, @o, @b, @c, NULL)
            """);
        command.Add("s", _serviceId);
        command.Add("k", key.Id);
        command.Add("n", key.Name);
        command.Add("h", key.SecretHash);
        command.Add("r", string.Join(',', key.Roles));
        command.Add("o", key.OrgUnit);
        command.Add("b", key.CreatedBy);
        command.Add("c", Db.Time(_postgres, key.CreatedAt));
        await command.ExecuteNonQueryAsync();
    }

    public async Task<bool> RevokeApiKeyAsync(string id, DateTimeOffset at)
    {
        await using var connection = await Db.OpenAsync(_storage);
        await using var command = Db.Command(connection, null,
            "UPDATE crm_api_keys SET revoked_at = COALESCE(revoked_at, @t) WHERE service_id = @s AND key_id = @k");
        command.Add("s", _serviceId);
        command.Add("k", id);
        command.Add("t", Db.Time(_postgres, at));
        return await command.ExecuteNonQueryAsync() == 1;
    }

    public async Task AppendAuditAsync(IReadOnlyList<AuditEntry> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _audit.Writer.WriteAsync(([.. entries], done));
        await done.Task;
    }

    public async Task<AuditRecord[]> QueryAuditAsync(string? actor, string? customerId, long after, int limit)
    {
        await using var connection = await Db.OpenAsync(_storage);
        await using var command = Db.Command(connection, null, $"""
            SELECT seq, at, actor, action, resource, customer_id, status, outcome, request_id FROM crm_audit
            WHERE service_id = @s AND seq > @a {(actor is null ? "" : "AND actor = @actor")} {(customerId is null ? "" : "AND customer_id = @c")}
            ORDER BY seq LIMIT @n
            """);
        command.Add("s", _serviceId);
        command.Add("a", after);
        command.Add("n", limit);
        if (actor is not null)
        {
            command.Add("actor", actor);
        }

        if (customerId is not null)
        {
            command.Add("c", customerId);
        }

        var records = new List<AuditRecord>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            records.Add(new AuditRecord(
                reader.GetInt64(0),
                new AuditEntry(
                    reader.ReadTime(1, _postgres),
                    reader.GetString(2),
                    reader.GetString(3),
                    reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5),
                    Convert.ToInt32(reader.GetValue(6), System.Globalization.CultureInfo.InvariantCulture),
                    reader.GetString(7),
                    reader.IsDBNull(8) ? null : reader.GetString(8))));
        }

        return [.. records];
    }

    public async ValueTask DisposeAsync()
    {
        _audit.Writer.TryComplete();
        await _writer;
    }

    private async Task WriteAuditLoopAsync()
    {
        var batch = new List<(AuditEntry[] Entries, TaskCompletionSource Done)>();
        while (await _audit.Reader.WaitToReadAsync())
        {
            batch.Clear();
            var rows = 0;
            while (rows < MaxBatch && _audit.Reader.TryRead(out var item))
            {
                batch.Add(item);
                rows += item.Entries.Length;
            }

            try
            {
                await InsertAuditAsync(batch.SelectMany(b => b.Entries).ToList());
                batch.ForEach(b => b.Done.TrySetResult());
            }
            catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException)
            {
                batch.ForEach(b => b.Done.TrySetException(e));
            }
        }
    }

    private async Task InsertAuditAsync(List<AuditEntry> entries)
    {
        await using var connection = await Db.OpenAsync(_storage);
        if (connection is Npgsql.NpgsqlConnection pg)
        {
            // One audit writer at a time across the cluster (a transaction-scoped advisory lock): sequence numbers are
            // then taken in commit order, so a reader's cursor never passes a row that commits later.
            await using var ordered = await pg.BeginTransactionAsync();
            await using (var gate = new Npgsql.NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtext('crm_audit'))", pg, ordered))
            {
                await gate.ExecuteNonQueryAsync();
            }

            // Arrays rather than COPY, which cannot skip a row already stored: a batch retried after an attempt that
            // did commit (its caller saw a timeout) adds nothing, each record's id being unique.
            await using (var insert = new Npgsql.NpgsqlCommand("""
                INSERT INTO crm_audit (service_id, at, actor, action, resource, customer_id, status, outcome, request_id, entry_id)
                SELECT @s, at, actor, action, resource, customer_id, status, outcome, request_id, entry_id
                FROM unnest(@at, @actor, @action, @resource, @customer, @status, @outcome, @request, @entry)
                    AS audit(at, actor, action, resource, customer_id, status, outcome, request_id, entry_id)
                ON CONFLICT (service_id, entry_id) DO NOTHING
                """, pg, ordered))
            {
                insert.Parameters.AddWithValue("s", _serviceId);
                insert.Parameters.AddWithValue("at", entries.Select(e => e.At.UtcDateTime).ToArray());
                insert.Parameters.AddWithValue("actor", entries.Select(e => e.Actor).ToArray());
                insert.Parameters.AddWithValue("action", entries.Select(e => e.Action).ToArray());
                insert.Parameters.AddWithValue("resource", entries.Select(e => e.Resource).ToArray());
                insert.Parameters.AddWithValue("customer", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text, entries.Select(e => e.CustomerId).ToArray());
                insert.Parameters.AddWithValue("status", entries.Select(e => e.Status).ToArray());
                insert.Parameters.AddWithValue("outcome", entries.Select(e => e.Outcome).ToArray());
                insert.Parameters.AddWithValue("request", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text, entries.Select(e => e.RequestId).ToArray());
                insert.Parameters.AddWithValue("entry", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text, entries.Select(e => e.EntryId).ToArray());
                await insert.ExecuteNonQueryAsync();
            }

            await ordered.CommitAsync();
            return;
        }

        await using var transaction = await connection.BeginTransactionAsync();
        await InsertAuditAsync(connection, transaction, _postgres, _serviceId, entries);
        await transaction.CommitAsync();
    }

    /// <summary>Inserts audit rows in the caller's transaction (also used by the group-commit writer, whose customer
    /// commits carry the audit record of their change). At most 100 rows per statement keeps the parameter count far
    /// below either database's limit.</summary>
    internal static async Task InsertAuditAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, bool postgres, string serviceId, IReadOnlyList<AuditEntry> entries)
    {
        if (!postgres)
        {
            // SQLite: one prepared single-row statement run per entry. A multi-row statement would bind each of its
            // hundreds of named parameters by a linear search of the statement's names (quadratic per statement),
            // which made the read path's audit trail the largest cost of a customer view on the embedded default.
            await using var single = Db.Command(connection, transaction,
                "INSERT INTO crm_audit (service_id, at, actor, action, resource, customer_id, status, outcome, request_id, entry_id) "
                + "VALUES (@s, @at, @ac, @an, @r, @c, @st, @o, @q, @id) ON CONFLICT (service_id, entry_id) DO NOTHING");
            string[] names = ["s", "at", "ac", "an", "r", "c", "st", "o", "q", "id"];
            foreach (var name in names)
            {
                single.Add(name, null);
            }

            var p = single.Parameters;
            p[0].Value = serviceId;
            foreach (var e in entries)
            {
                object?[] values = [Db.Time(postgres, e.At), e.Actor, e.Action, e.Resource, e.CustomerId, e.Status, e.Outcome, e.RequestId, e.EntryId];
                for (var i = 0; i < values.Length; i++)
                {
                    p[i + 1].Value = values[i] ?? DBNull.Value;
                }

                await single.ExecuteNonQueryAsync();
            }

            return;
        }

        foreach (var chunk in entries.Chunk(100))
        {
            await using var insert = Db.Command(connection, transaction, "");
            insert.Add("s", serviceId);
            var rows = new List<string>(chunk.Length);
            for (var i = 0; i < chunk.Length; i++)
            {
                var e = chunk[i];
                rows.Add($"(@s, @at{i}, @ac{i}, @an{i}, @r{i}, @c{i}, @st{i}, @o{i}, @q{i}, @id{i})");
                insert.Add($"at{i}", Db.Time(postgres, e.At));
                insert.Add($"ac{i}", e.Actor);
                insert.Add($"an{i}", e.Action);
                insert.Add($"r{i}", e.Resource);
                insert.Add($"c{i}", e.CustomerId);
                insert.Add($"st{i}", e.Status);
                insert.Add($"o{i}", e.Outcome);
                insert.Add($"q{i}", e.RequestId);
                insert.Add($"id{i}", e.EntryId);
            }

            insert.CommandText = $"INSERT INTO crm_audit (service_id, at, actor, action, resource, customer_id, status, outcome, request_id, entry_id) VALUES {string.Join(", ", rows)} "
                + "ON CONFLICT (service_id, entry_id) DO NOTHING";
            await insert.ExecuteNonQueryAsync();
        }
    }

    private async Task<UserRecord[]> ReadUsersAsync(string filter, string? login)
    {
        await using var connection = await Db.OpenAsync(_storage);
        await using var command = Db.Command(connection, null,
            $"SELECT login, password_hash, roles, org_unit, enabled, created_at, changed_at, sessions_from FROM crm_users WHERE service_id = @s {filter} ORDER BY login");
        command.Add("s", _serviceId);
        if (login is not null)
        {
            command.Add("l", login);
        }

        var users = new List<UserRecord>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            users.Add(new UserRecord(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2).Split(',', StringSplitOptions.RemoveEmptyEntries),
                reader.GetString(3),
                _postgres ? reader.GetBoolean(4) : reader.GetInt64(4) == 1,
                reader.ReadTime(5, _postgres),
                reader.ReadTime(6, _postgres),
                reader.IsDBNull(7) ? null : reader.ReadTime(7, _postgres)));
        }

        return [.. users];
    }

    private async Task<ApiKeyRecord[]> ReadKeysAsync(string filter, string? id)
    {
        await using var connection = await Db.OpenAsync(_storage);
        await using var command = Db.Command(connection, null,
            $"SELECT key_id, name, secret_hash, roles, org_unit, created_by, created_at, revoked_at FROM crm_api_keys WHERE service_id = @s {filter} ORDER BY created_at, key_id");
        command.Add("s", _serviceId);
        if (id is not null)
        {
            command.Add("k", id);
        }

        var keys = new List<ApiKeyRecord>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            keys.Add(new ApiKeyRecord(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3).Split(',', StringSplitOptions.RemoveEmptyEntries),
                reader.GetString(4),
                reader.GetString(5),
                reader.ReadTime(6, _postgres),
                reader.IsDBNull(7) ? null : reader.ReadTime(7, _postgres)));
        }

        return [.. keys];
    }
}
