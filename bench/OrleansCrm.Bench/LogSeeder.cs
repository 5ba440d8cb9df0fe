using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using OrleansCrm.Customers;
using OrleansCrm.Silo.Storage;

namespace OrleansCrm.Bench;

/// <summary>Bulk-loads customers' histories straight into the event log with PostgreSQL COPY, as an import of
/// years of history would; each customer is built from its log rows the first time it is woken.</summary>
public static class LogSeeder
{
    public static Task SeedAsync(BenchNode node, int customers, Func<int, (string CustomerId, CustomerEvent[] Events)> history) =>
        SeedAsync(node.Storage.ConnectionString, node.ServiceId, customers, history);

    /// <summary>Loads into the event log of the deployment <paramref name="serviceId"/> on the database
    /// <paramref name="connectionString"/> names (the bench's own node, or a cluster the bench drives).</summary>
    public static async Task SeedAsync(string connectionString, string serviceId, int customers, Func<int, (string CustomerId, CustomerEvent[] Events)> history)
    {
        var recorded = DateTimeOffset.UtcNow;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var copy = await connection.BeginBinaryImportAsync(
            "COPY crm_customer_events (service_id, customer_id, event_id, type, occurred_at, recorded_at, source, channel, amount, data) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < customers; i++)
            {
                var (id, events) = history(i);
                foreach (var e in events)
                {
                    await copy.StartRowAsync();
                    await copy.WriteAsync(serviceId, NpgsqlDbType.Text);
                    await copy.WriteAsync(id, NpgsqlDbType.Text);
                    await copy.WriteAsync(e.EventId, NpgsqlDbType.Text);
                    await copy.WriteAsync(e.Type, NpgsqlDbType.Text);
                    await copy.WriteAsync(e.OccurredAt.UtcDateTime, NpgsqlDbType.TimestampTz);
                    await copy.WriteAsync(recorded.UtcDateTime, NpgsqlDbType.TimestampTz);
                    await WriteOrNullAsync(copy, e.Source, NpgsqlDbType.Text);
                    await WriteOrNullAsync(copy, e.Channel, NpgsqlDbType.Text);
                    await WriteOrNullAsync(copy, e.Data.Amount, NpgsqlDbType.Numeric);
                    await copy.WriteAsync(JsonSerializer.Serialize(e.Data, AdoNetCustomerLog.Json), NpgsqlDbType.Jsonb);
                }
            }

            await copy.CompleteAsync();
        }

        await using var vacuum = new NpgsqlCommand("VACUUM ANALYZE crm_customer_events", connection);
        await vacuum.ExecuteNonQueryAsync();
    }

    private static async Task WriteOrNullAsync<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type)
    {
        if (value is null)
        {
            await copy.WriteNullAsync();
        }
        else
        {
            await copy.WriteAsync(value, type);
        }
    }
}
