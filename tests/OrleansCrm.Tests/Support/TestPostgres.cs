using Npgsql;

namespace OrleansCrm.Tests.Support;

/// <summary>
/// The PostgreSQL server the test run was given (<c>CRM_TEST_POSTGRES</c>, set by scripts/test.sh, which starts a
/// private server). Each caller gets a database of its own, dropped when disposed.
/// </summary>
public sealed class TestPostgres : IAsyncDisposable
{
    public const string Variable = "CRM_TEST_POSTGRES";

    private TestPostgres(string server, string database)
    {
        Server = server;
        Database = database;
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString;
    }

    public string Server { get; }

    public string Database { get; }

    public string ConnectionString { get; }

    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{Variable} is not set: run the suite with scripts/test.sh, which starts PostgreSQL");

    /// <summary>A name for a database that does not exist yet (the product creates it).</summary>
    public static TestPostgres Reserve() =>
        new(ServerConnectionString, "crm_test_" + Guid.NewGuid().ToString("N")[..12]);

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Server) { Database = "postgres", Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Database}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
