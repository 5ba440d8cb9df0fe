using System.Data.Common;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
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
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await InsertAuditAsync(batch.SelectMany(b => b.Entries).ToList());
                OrleansCrm.Telemetry.CrmMetrics.StorageCall("audit.append", started);
                OrleansCrm.Telemetry.CrmMetrics.AuditBatchRecords.Record(rows);
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
    /// commits carry the audit record of their change). PostgreSQL: at most 100 rows per statement keeps the parameter
    /// count far below its limit; SQLite: <see cref="InsertAuditSqlite"/>.</summary>
    internal static async Task InsertAuditAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, bool postgres, string serviceId, IReadOnlyList<AuditEntry> entries)
    {
        if (!postgres)
        {
            InsertAuditSqlite((SqliteConnection)connection, serviceId, entries);
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

    /// <summary>
    /// SQLite: one statement prepared per batch and run per row, its parameters bound by position through SQLite's own
    /// interface. Through ADO.NET each row cost a command execution with every parameter looked up by name (and a
    /// multi-row statement a linear search of hundreds of names per parameter), which capped the audit trail, and so
    /// every audited read, near 10,000 records a second on two cores. Runs in the caller's transaction (same handle).
    /// </summary>
    private static void InsertAuditSqlite(SqliteConnection connection, string serviceId, IReadOnlyList<AuditEntry> entries)
    {
        var db = connection.Handle!;
        Check(SQLitePCL.raw.sqlite3_prepare_v2(db,
            "INSERT INTO crm_audit (service_id, at, actor, action, resource, customer_id, status, outcome, request_id, entry_id) "
            + "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (service_id, entry_id) DO NOTHING", out var statement), db);
        using (statement)
        {
            Check(SQLitePCL.raw.sqlite3_bind_text(statement, 1, serviceId), db);
            foreach (var e in entries)
            {
                Text(2, (string)Db.Time(false, e.At));
                Text(3, e.Actor);
                Text(4, e.Action);
                Text(5, e.Resource);
                Text(6, e.CustomerId);
                Check(SQLitePCL.raw.sqlite3_bind_int64(statement, 7, e.Status), db);
                Text(8, e.Outcome);
                Text(9, e.RequestId);
                Text(10, e.EntryId);
                var done = SQLitePCL.raw.sqlite3_step(statement);
                if (done != SQLitePCL.raw.SQLITE_DONE)
                {
                    Check(done, db);
                }

                Check(SQLitePCL.raw.sqlite3_reset(statement), db);
            }
        }

        void Text(int index, string? value) =>
            Check(value is null ? SQLitePCL.raw.sqlite3_bind_null(statement, index) : SQLitePCL.raw.sqlite3_bind_text(statement, index, value), db);
    }

    private static void Check(int result, SQLitePCL.sqlite3 db) => SqliteException.ThrowExceptionForRC(result, db);

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
