using Npgsql;
using NpgsqlTypes;
using OrleansCrm.Customers;

namespace OrleansCrm.Bench.Baseline;

/// <summary>The single-customer view as the three-tier application's screen shows it: what the CRM's view holds of
/// profile, contact points, consent, recent contacts and transaction totals, plus the 20 latest transactions.</summary>
public sealed record BaselineView(
    string CustomerId,
    string? FirstName,
    string? LastName,
    string[] Emails,
    string[] Phones,
    DateOnly? BirthDate,
    BaselineAddress Address,
    string? Region,
    string? PreferredChannel,
    string? Tier,
    string? Kind,
    string[] Tags,
    BaselineConsent[] Consents,
    BaselineSummary Transactions,
    BaselineContact[] RecentContacts,
    BaselineTransaction[] RecentTransactions,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

public sealed record BaselineAddress(string? Line1, string? City, string? PostalCode, string? Country);

public sealed record BaselineConsent(string Channel, string Purpose, bool Granted);

public sealed record BaselineSummary(
    long PurchaseCount,
    decimal PurchaseTotal,
    DateTimeOffset? FirstPurchaseAt,
    DateTimeOffset? LastPurchaseAt,
    decimal Spend30Days,
    decimal Spend90Days,
    decimal Spend365Days,
    long DepositCount,
    decimal DepositTotal,
    DateTimeOffset? LastDepositAt,
    long WithdrawalCount,
    decimal WithdrawalTotal,
    DateTimeOffset? LastWithdrawalAt);

public sealed record BaselineContact(string EventId, string Type, string? Channel, string Direction, DateTimeOffset OccurredAt, string? Agent, string? Campaign, string? Outcome, string? Subject);

public sealed record BaselineTransaction(string EventId, string Kind, DateTimeOffset OccurredAt, decimal Amount, string? Channel, string? Category);

/// <summary>A money movement as the baseline's ingest endpoint accepts it (the CRM's event envelope, restricted to
/// the types the baseline has a table for).</summary>
public sealed record BaselineEvent(string? EventId, string? Type, DateTimeOffset OccurredAt, string? Channel, BaselineEventData? Data);

public sealed record BaselineEventData(decimal? Amount, int? Quantity, string? Category);

public enum IngestOutcome
{
    Recorded,
    Duplicate,
    UnknownCustomer,
}

/// <summary>
/// The baseline's data access, written as a competent three-tier application would: pooled, prepared statements;
/// the view as four queries sent in one round trip; ingest as one transaction that inserts the transaction row
/// (idempotent by event id) and updates the customer's purchase summary.
/// </summary>
public sealed class BaselineStore(NpgsqlDataSource data, TimeProvider clock)
{
    /// <summary>As many recent contacts as the CRM's view holds.</summary>
    public const int RecentContacts = CustomerAggregate.RecentContactLimit;

    public const int RecentTransactions = 20;

    private const string CustomerSql = """
        SELECT first_name, last_name, emails, phones, birth_date, address_line1, city, postal_code, country, region,
               preferred_channel, tier, kind, tags, marketing_email, marketing_sms, marketing_phone,
               purchase_count, purchase_total, first_purchase_at, last_purchase_at, created_at, updated_at
        FROM baseline_customers WHERE customer_id = $1
        """;

    private static readonly string ContactsSql = $"""
        SELECT event_id, type, channel, direction, occurred_at, agent, campaign, outcome, subject
        FROM baseline_contacts WHERE customer_id = $1
        ORDER BY occurred_at DESC, event_id COLLATE "C" LIMIT {RecentContacts}
        """;

    private static readonly string TransactionsSql = $"""
        SELECT event_id, kind, occurred_at, amount, channel, category
        FROM baseline_transactions WHERE customer_id = $1
        ORDER BY occurred_at DESC, event_id COLLATE "C" LIMIT {RecentTransactions}
        """;

    // Spend windows are whole UTC days ending today, as the CRM counts them.
    private const string TotalsSql = """
        SELECT coalesce(sum(amount) FILTER (WHERE kind = 'purchase' AND occurred_at >= $2), 0),
               coalesce(sum(amount) FILTER (WHERE kind = 'purchase' AND occurred_at >= $3), 0),
               coalesce(sum(amount) FILTER (WHERE kind = 'purchase' AND occurred_at >= $4), 0),
               count(*) FILTER (WHERE kind = 'deposit'), coalesce(sum(amount) FILTER (WHERE kind = 'deposit'), 0),
               max(occurred_at) FILTER (WHERE kind = 'deposit'),
               count(*) FILTER (WHERE kind = 'withdrawal'), coalesce(sum(amount) FILTER (WHERE kind = 'withdrawal'), 0),
               max(occurred_at) FILTER (WHERE kind = 'withdrawal')
        FROM baseline_transactions WHERE customer_id = $1
        """;

    private const string InsertSql = """
        INSERT INTO baseline_transactions (customer_id, event_id, kind, occurred_at, amount, quantity, channel, category)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (customer_id, event_id) DO NOTHING
        """;

    private const string SummarySql = """
        UPDATE baseline_customers
        SET purchase_count = purchase_count + CASE WHEN $2 THEN 1 ELSE 0 END,
            purchase_total = purchase_total + CASE WHEN $2 THEN $3 ELSE 0 END,
            first_purchase_at = CASE WHEN $2 THEN least(first_purchase_at, $4) ELSE first_purchase_at END,
            last_purchase_at = CASE WHEN $2 THEN greatest(last_purchase_at, $4) ELSE last_purchase_at END,
            updated_at = $5
        WHERE customer_id = $1
        """;

    public async Task<BaselineView?> GetViewAsync(string customerId)
    {
        var today = clock.GetUtcNow().UtcDateTime.Date;
        await using var connection = await data.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                Command(CustomerSql, customerId),
                Command(ContactsSql, customerId),
                Command(TransactionsSql, customerId),
                Command(TotalsSql, customerId, today.AddDays(-29), today.AddDays(-89), today.AddDays(-364)),
            },
        };
        await using var reader = await batch.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return null;
        }

        var r = reader;
        var name = (First: Text(r, 0), Last: Text(r, 1));
        var emails = r.GetFieldValue<string[]>(2);
        var phones = r.GetFieldValue<string[]>(3);
        DateOnly? birth = r.IsDBNull(4) ? null : r.GetFieldValue<DateOnly>(4);
        var address = new BaselineAddress(Text(r, 5), Text(r, 6), Text(r, 7), Text(r, 8));
        var (region, preferred, tier, kind) = (Text(r, 9), Text(r, 10), Text(r, 11), Text(r, 12));
        var tags = r.GetFieldValue<string[]>(13);
        var consents = new[] { ("email", 14), ("sms", 15), ("phone", 16) }
            .Where(c => !r.IsDBNull(c.Item2))
            .Select(c => new BaselineConsent(c.Item1, "marketing", r.GetBoolean(c.Item2)))
            .ToArray();
        var (purchases, total, firstPurchase, lastPurchase) = (r.GetInt32(17), r.GetDecimal(18), Time(r, 19), Time(r, 20));
        var (created, updated) = (r.GetFieldValue<DateTimeOffset>(21), r.GetFieldValue<DateTimeOffset>(22));

        await reader.NextResultAsync();
        var contacts = new List<BaselineContact>();
        while (await reader.ReadAsync())
        {
            contacts.Add(new BaselineContact(r.GetString(0), r.GetString(1), Text(r, 2), r.GetString(3), r.GetFieldValue<DateTimeOffset>(4), Text(r, 5), Text(r, 6), Text(r, 7), Text(r, 8)));
        }

        await reader.NextResultAsync();
        var transactions = new List<BaselineTransaction>();
        while (await reader.ReadAsync())
        {
            transactions.Add(new BaselineTransaction(r.GetString(0), r.GetString(1), r.GetFieldValue<DateTimeOffset>(2), r.GetDecimal(3), Text(r, 4), Text(r, 5)));
        }

        await reader.NextResultAsync();
        await reader.ReadAsync();
        var summary = new BaselineSummary(
            purchases, total, firstPurchase, lastPurchase, r.GetDecimal(0), r.GetDecimal(1), r.GetDecimal(2),
            r.GetInt64(3), r.GetDecimal(4), Time(r, 5), r.GetInt64(6), r.GetDecimal(7), Time(r, 8));
        return new BaselineView(customerId, name.First, name.Last, emails, phones, birth, address, region, preferred, tier, kind, tags,
            consents, summary, [.. contacts], [.. transactions], created, updated);
    }

    /// <summary>Records one money movement: inserted once by event id, and the customer's summary updated in the
    /// same transaction (a retried event changes nothing).</summary>
    public async Task<IngestOutcome> RecordAsync(string customerId, string eventId, string kind, DateTimeOffset occurredAt, decimal amount, int? quantity, string? channel, string? category)
    {
        await using var connection = await data.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        int inserted;
        try
        {
            await using var insert = new NpgsqlCommand(InsertSql, connection, transaction);
            insert.Parameters.Add(new NpgsqlParameter<string> { Value = customerId });
            insert.Parameters.Add(new NpgsqlParameter<string> { Value = eventId });
            insert.Parameters.Add(new NpgsqlParameter<string> { Value = kind });
            insert.Parameters.Add(new NpgsqlParameter<DateTime> { Value = occurredAt.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            insert.Parameters.Add(new NpgsqlParameter<decimal> { Value = amount });
            insert.Parameters.Add(new NpgsqlParameter { Value = (object?)quantity ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer });
            insert.Parameters.Add(new NpgsqlParameter { Value = (object?)channel ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            insert.Parameters.Add(new NpgsqlParameter { Value = (object?)category ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            inserted = await insert.ExecuteNonQueryAsync();
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return IngestOutcome.UnknownCustomer;
        }

        if (inserted == 0)
        {
            await transaction.CommitAsync();
            return IngestOutcome.Duplicate;
        }

        await using (var summary = new NpgsqlCommand(SummarySql, connection, transaction))
        {
            summary.Parameters.Add(new NpgsqlParameter<string> { Value = customerId });
            summary.Parameters.Add(new NpgsqlParameter<bool> { Value = kind == CustomerEventTypes.Purchase });
            summary.Parameters.Add(new NpgsqlParameter<decimal> { Value = amount });
            summary.Parameters.Add(new NpgsqlParameter<DateTime> { Value = occurredAt.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            summary.Parameters.Add(new NpgsqlParameter<DateTime> { Value = clock.GetUtcNow().UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            await summary.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return IngestOutcome.Recorded;
    }

    private static NpgsqlBatchCommand Command(string sql, string customerId, params DateTime[] days)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<string> { Value = customerId });
        foreach (var day in days)
        {
            command.Parameters.Add(new NpgsqlParameter<DateTime> { Value = DateTime.SpecifyKind(day, DateTimeKind.Utc), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        }

        return command;
    }

    private static string? Text(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static DateTimeOffset? Time(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetFieldValue<DateTimeOffset>(i);
}
