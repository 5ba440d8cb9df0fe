using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using OrleansCrm.Hosting;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Silo.Storage;

/// <summary>
/// Creates and upgrades the database schema from the numbered scripts under <c>db/&lt;kind&gt;/</c>, which are
/// embedded in the silo. Every silo runs it at start; it is idempotent and serialised (a PostgreSQL advisory lock,
/// an SQLite write transaction), so several silos starting at once apply each script exactly once.
/// </summary>
public static class SchemaMigrator
{
    // Any constant works; it only has to be the same for every silo of every version.
    private const long PostgresLockKey = 0x4f524c4e43524d; // "ORLNCRM"

    public sealed record Script(string Version, string Text, string Checksum);

    public sealed record Result(int Applied, int AlreadyPresent);

    public static IReadOnlyList<Script> Scripts(StorageKind kind)
    {
        var prefix = $"db/{(kind == StorageKind.Sqlite ? "sqlite" : "postgres")}/";
        var assembly = typeof(SchemaMigrator).Assembly;
        return [.. assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(name =>
            {
                using var stream = assembly.GetManifestResourceStream(name)!;
                using var reader = new StreamReader(stream, Encoding.UTF8);
                var text = reader.ReadToEnd().Replace("\r\n", "\n", StringComparison.Ordinal);
                var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
                return new Script(Path.GetFileNameWithoutExtension(name[prefix.Length..]), text, checksum);
            })];
    }

    public static async Task<Result> MigrateAsync(StorageSettings storage, CancellationToken cancellation = default)
    {
        var scripts = Scripts(storage.Kind);
        if (scripts.Count == 0)
        {
            throw new InvalidOperationException($"No schema scripts are embedded for {storage.Kind}");
        }

        await using var connection = await OpenAsync(storage, cancellation);
        if (storage.Kind == StorageKind.Sqlite)
        {
            // Readers never wait for the writer; survives a crash as well as the default journal does.
            await ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL;", cancellation);
        }

        // Microsoft.Data.Sqlite begins an IMMEDIATE transaction, which takes the file's write lock at once.
        await using var transaction = await connection.BeginTransactionAsync(cancellation);
        if (storage.Kind == StorageKind.Postgres)
        {
            await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({PostgresLockKey.ToString(CultureInfo.InvariantCulture)});", cancellation);
        }

        await ExecuteAsync(connection, transaction, """
            CREATE TABLE IF NOT EXISTS crm_schema_migrations (
                version TEXT NOT NULL PRIMARY KEY,
                checksum TEXT NOT NULL,
                applied_at TEXT NOT NULL
            );
            """, cancellation);

        var applied = new Dictionary<string, string>(StringComparer.Ordinal);
        await using (var select = Command(connection, transaction, "SELECT version, checksum FROM crm_schema_migrations;"))
        await using (var rows = await select.ExecuteReaderAsync(cancellation))
        {
            while (await rows.ReadAsync(cancellation))
            {
                applied[rows.GetString(0)] = rows.GetString(1);
            }
        }

        var count = 0;
        foreach (var script in scripts)
        {
            if (applied.TryGetValue(script.Version, out var checksum))
            {
                if (checksum != script.Checksum)
                {
                    throw new StartupProblemException($"storage: schema script {script.Version} differs from the one applied to this database; shipped scripts must never be edited, add a new one");
                }

                continue;
            }

            await ExecuteAsync(connection, transaction, script.Text, cancellation);
            await using var record = Command(connection, transaction, "INSERT INTO crm_schema_migrations (version, checksum, applied_at) VALUES (@version, @checksum, @appliedAt);");
            record.Add("version", script.Version);
            record.Add("checksum", script.Checksum);
            record.Add("appliedAt", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            await record.ExecuteNonQueryAsync(cancellation);
            count++;
        }

        await transaction.CommitAsync(cancellation);
        return new Result(count, scripts.Count - count);
    }

    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyFolder = OwnerOnlyFile | UnixFileMode.UserExecute;

    /// <summary>
    /// The SQLite file holds every customer's data and the token signing key: only the account running the CRM may read
    /// it. Its folder becomes owner-only (0700) and the file 0600, created so before SQLite first opens it; SQLite gives
    /// its -wal and -shm files the database file's mode. Earlier versions created them 0755 and 0644: they are
    /// tightened at every start.
    /// </summary>
    internal static void KeepOwnerOnly(string file)
    {
        if (OperatingSystem.IsWindows() || file.Length == 0 || file == ":memory:" || file.StartsWith("file:", StringComparison.Ordinal))
        {
            return;
        }

        // The folder the file was configured in (data/ by default). Left alone: the working folder (a bare file name), a
        // shared folder such as /tmp (sticky), and a folder of another account; the file's own mode protects it there.
        if (Path.GetDirectoryName(file) is { Length: > 0 } folder && (File.GetUnixFileMode(folder) & UnixFileMode.StickyBit) == 0)
        {
            try
            {
                File.SetUnixFileMode(folder, OwnerOnlyFolder);
            }
            catch (UnauthorizedAccessException)
            {
                // Not the folder's owner.
            }
        }
        if (!File.Exists(file))
        {
            try
            {
                // Created owner-only, never truncating: another silo of this host may create it at the same moment.
                using (File.Open(file, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.ReadWrite | FileShare.Delete, UnixCreateMode = OwnerOnlyFile }))
                {
                }
            }
            catch (IOException) when (File.Exists(file))
            {
                // It was: the mode is set below either way.
            }
        }

        foreach (var path in new[] { file, file + "-wal", file + "-shm", file + "-journal" }.Where(File.Exists))
        {
            File.SetUnixFileMode(path, OwnerOnlyFile);
        }
    }

    private static async Task<DbConnection> OpenAsync(StorageSettings storage, CancellationToken cancellation)
    {
        if (storage.Kind == StorageKind.Sqlite)
        {
            var file = new SqliteConnectionStringBuilder(storage.ConnectionString).DataSource;
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                KeepOwnerOnly(file);
                var sqlite = new SqliteConnection(storage.ConnectionString);
                await sqlite.OpenAsync(cancellation);
                return sqlite;
            }
            catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
            {
                throw new StartupProblemException($"storage: cannot open the SQLite file {file}: {e.Message}", e);
            }
        }

        var target = new NpgsqlConnectionStringBuilder(storage.ConnectionString);
        try
        {
            var pg = new NpgsqlConnection(storage.ConnectionString);
            await pg.OpenAsync(cancellation);
            return pg;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            await CreateDatabaseAsync(target, cancellation);
            var pg = new NpgsqlConnection(storage.ConnectionString);
            await pg.OpenAsync(cancellation);
            return pg;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            throw new StartupProblemException($"storage: cannot reach PostgreSQL database '{target.Database}' at {target.Host}:{target.Port}: {e.Message}", e);
        }
    }

    /// <summary>A missing database is created, so a new cluster needs nothing but a PostgreSQL server and a login.</summary>
    private static async Task CreateDatabaseAsync(NpgsqlConnectionStringBuilder target, CancellationToken cancellation)
    {
        var maintenance = new NpgsqlConnectionStringBuilder(target.ConnectionString) { Database = "postgres", Pooling = false };
        try
        {
            await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
            await connection.OpenAsync(cancellation);
            await using var create = connection.CreateCommand();
            create.CommandText = $"CREATE DATABASE \"{target.Database!.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
            await create.ExecuteNonQueryAsync(cancellation);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another silo created it first.
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            throw new StartupProblemException($"storage: PostgreSQL database '{target.Database}' does not exist and could not be created: {e.Message}", e);
        }
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string text)
    {
        var command = Db.Command(connection, transaction, text);
        command.CommandTimeout = 120;
        return command;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string text, CancellationToken cancellation)
    {
        await using var command = Command(connection, transaction, text);
        await command.ExecuteNonQueryAsync(cancellation);
    }
}
