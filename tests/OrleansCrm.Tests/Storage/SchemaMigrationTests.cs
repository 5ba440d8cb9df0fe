using Microsoft.Data.Sqlite;
using OrleansCrm.Hosting.Configuration;
using OrleansCrm.Silo.Storage;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Storage;

public sealed class SchemaMigrationTests
{
    // The query keys the Orleans ADO.NET providers look up at start; a missing one stops the silo.
    private static readonly string[] RequiredQueryKeys =
    [
        "UpdateIAmAlivetimeKey", "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey",
        "GatewaysQueryKey", "MembershipReadRowKey", "MembershipReadAllKey", "DeleteMembershipTableEntriesKey",
        "WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey",
        "UpsertReminderRowKey", "ReadReminderRowsKey", "ReadReminderRowKey", "ReadRangeRows1Key", "ReadRangeRows2Key",
        "DeleteReminderRowKey", "DeleteReminderRowsKey",
    ];

    [Fact]
    public async Task Sqlite_schema_creation_runs_twice_without_harm()
    {
        var folder = Directory.CreateTempSubdirectory("crm-schema-").FullName;
        var file = Path.Combine(folder, "nested", "crm.db");
        var storage = new StorageSettings(StorageKind.Sqlite, $"Data Source={file};Pooling=False");
        var scripts = SchemaMigrator.Scripts(StorageKind.Sqlite).Count;

        var first = await SchemaMigrator.MigrateAsync(storage);
        await SqliteExecAsync(storage, "INSERT INTO crm_schema_migrations (version, checksum, applied_at) VALUES ('marker', 'x', 'now');");
        var second = await SchemaMigrator.MigrateAsync(storage);

        Assert.Equal(new SchemaMigrator.Result(scripts, 0), first);
        Assert.Equal(new SchemaMigrator.Result(0, scripts), second);
        Assert.Equal(scripts + 1L, await SqliteScalarAsync<long>(storage, "SELECT count(*) FROM crm_schema_migrations"));
        var keys = await SqliteKeysAsync(storage);
        Assert.All(RequiredQueryKeys, key => Assert.Contains(key, keys));
        Assert.Equal("wal", await SqliteScalarAsync<string>(storage, "PRAGMA journal_mode"));
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Postgres_schema_creation_runs_twice_without_harm_and_creates_the_database()
    {
        await using var pg = TestPostgres.Reserve();
        var storage = new StorageSettings(StorageKind.Postgres, pg.ConnectionString);
        var scripts = SchemaMigrator.Scripts(StorageKind.Postgres).Count;

        var first = await SchemaMigrator.MigrateAsync(storage);
        var second = await SchemaMigrator.MigrateAsync(storage);

        Assert.Equal(new SchemaMigrator.Result(scripts, 0), first);
        Assert.Equal(new SchemaMigrator.Result(0, scripts), second);
        Assert.Equal((long)scripts, await pg.ScalarAsync<long>("SELECT count(*) FROM crm_schema_migrations"));
        foreach (var key in RequiredQueryKeys)
        {
            Assert.Equal(1L, await pg.ScalarAsync<long>($"SELECT count(*) FROM orleansquery WHERE querykey = '{key}'"));
        }
    }

    [Fact]
    public async Task Postgres_silos_starting_at_once_apply_each_script_exactly_once()
    {
        await using var pg = TestPostgres.Reserve();
        var storage = new StorageSettings(StorageKind.Postgres, pg.ConnectionString);
        var scripts = SchemaMigrator.Scripts(StorageKind.Postgres).Count;

        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => SchemaMigrator.MigrateAsync(storage))));

        Assert.Equal(scripts, results.Sum(r => r.Applied));
        Assert.Single(results, r => r.Applied == scripts);
        Assert.Equal((long)scripts, await pg.ScalarAsync<long>("SELECT count(*) FROM crm_schema_migrations"));
    }

    [Fact]
    public async Task Sqlite_silos_starting_at_once_apply_each_script_exactly_once()
    {
        var folder = Directory.CreateTempSubdirectory("crm-schema-").FullName;
        var storage = new StorageSettings(StorageKind.Sqlite, $"Data Source={Path.Combine(folder, "crm.db")};Default Timeout=30");
        var scripts = SchemaMigrator.Scripts(StorageKind.Sqlite).Count;

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => SchemaMigrator.MigrateAsync(storage))));

        Assert.Equal(scripts, results.Sum(r => r.Applied));
        Assert.Equal((long)scripts, await SqliteScalarAsync<long>(storage, "SELECT count(*) FROM crm_schema_migrations"));
        SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }

    private static async Task SqliteExecAsync(StorageSettings storage, string sql)
    {
        await using var connection = new SqliteConnection(storage.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> SqliteScalarAsync<T>(StorageSettings storage, string sql)
    {
        await using var connection = new SqliteConnection(storage.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<HashSet<string>> SqliteKeysAsync(StorageSettings storage)
    {
        await using var connection = new SqliteConnection(storage.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT QueryKey FROM OrleansQuery";
        await using var reader = await command.ExecuteReaderAsync();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }
}
