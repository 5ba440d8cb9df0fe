using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Silo.Storage;

/// <summary>The few ADO.NET steps every store here repeats, for SQLite and PostgreSQL alike.</summary>
internal static class Db
{
    public static async Task<DbConnection> OpenAsync(StorageSettings storage, CancellationToken cancellation = default)
    {
        DbConnection connection = storage.Kind == StorageKind.Postgres
            ? new NpgsqlConnection(storage.ConnectionString)
            : new SqliteConnection(storage.ConnectionString);
        await connection.OpenAsync(cancellation);
        if (connection is SqliteConnection sqlite && sqlite.Handle is { } handle && !Tuned.TryGetValue(handle, out _))
        {
            // Once per database handle (the pool keeps handles open): a checkpoint every 16 MiB of log rather than 4, so
            // a page that many commits change (the audit trail's index pages) is copied back once. A larger page cache
            // does not help: each connection's cache is emptied whenever another connection wrote, and emptying a
            // large one showed in the profile.
            await using var tune = Command(sqlite, null, "PRAGMA wal_autocheckpoint = 4096;");
            await tune.ExecuteNonQueryAsync(cancellation);
            Tuned.AddOrUpdate(handle, Marker);
        }

        return connection;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> Tuned = [];
    private static readonly object Marker = new();

    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    /// <summary>A moment as the database keeps it: PostgreSQL <c>timestamptz</c>; SQLite ISO 8601 UTC text with seven
    /// fractional digits, which sorts as text.</summary>
    public static object Time(bool postgres, DateTimeOffset at) => postgres
        ? at.UtcDateTime
        : at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Reads a moment written by <see cref="Time"/>.</summary>
    public static DateTimeOffset ReadTime(this DbDataReader reader, int ordinal, bool postgres) => postgres
        ? new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(ordinal), DateTimeKind.Utc))
        : DateTimeOffset.Parse(reader.GetString(ordinal), System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal);

    /// <summary>Adds a named parameter; null becomes SQL NULL.</summary>
    public static void Add(this DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }
}
