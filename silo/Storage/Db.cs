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
        return connection;
    }

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
