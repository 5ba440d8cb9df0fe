using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using OrleansCrm.Bench.Population;

namespace OrleansCrm.Bench.Baseline;

/// <summary>
/// The relational baseline's tables, in the same database as the CRM: a customer row (profile, marketing consent per
/// channel, a purchase summary kept by ingest), and the customer's contacts and money movements, each with the index
/// the single-customer view reads by (customer, newest first). Loaded the way a competent bulk load is done: COPY
/// into bare tables, then keys, indexes and foreign keys, then ANALYZE.
/// </summary>
public static class BaselineSchema
{
    public const string Tables = """
        DROP TABLE IF EXISTS baseline_contacts, baseline_transactions, baseline_customers;
        CREATE TABLE baseline_customers
        (
            customer_id        TEXT           NOT NULL,
            first_name         TEXT           NULL,
            last_name          TEXT           NULL,
            emails             TEXT[]         NOT NULL, -- newest first; emails[1] is the primary
            phones             TEXT[]         NOT NULL,
            birth_date         DATE           NULL,
            address_line1      TEXT           NULL,
            city               TEXT           NULL,
            postal_code        TEXT           NULL,
            country            TEXT           NULL,
            region             TEXT           NULL,
            preferred_channel  TEXT           NULL,
            tier               TEXT           NULL,
            kind               TEXT           NULL,
            tags               TEXT[]         NOT NULL,
            marketing_email    BOOLEAN        NULL,
            marketing_sms      BOOLEAN        NULL,
            marketing_phone    BOOLEAN        NULL,
            consent_changed_at TIMESTAMPTZ    NULL,
            purchase_count     INTEGER        NOT NULL,
            purchase_total     NUMERIC(19, 4) NOT NULL,
            first_purchase_at  TIMESTAMPTZ    NULL,
            last_purchase_at   TIMESTAMPTZ    NULL,
            created_at         TIMESTAMPTZ    NOT NULL,
            updated_at         TIMESTAMPTZ    NOT NULL
        );
        CREATE TABLE baseline_contacts
        (
            customer_id TEXT        NOT NULL,
            event_id    TEXT        NOT NULL,
            occurred_at TIMESTAMPTZ NOT NULL,
            type        TEXT        NOT NULL,
            channel     TEXT        NULL,
            direction   TEXT        NOT NULL,
            agent       TEXT        NULL,
            campaign    TEXT        NULL,
            outcome     TEXT        NULL,
            subject     TEXT        NULL
        );
        CREATE TABLE baseline_transactions
        (
            customer_id TEXT           NOT NULL,
            event_id    TEXT           NOT NULL,
            kind        TEXT           NOT NULL, -- purchase, deposit, withdrawal
            occurred_at TIMESTAMPTZ    NOT NULL,
            amount      NUMERIC(19, 4) NOT NULL,
            quantity    INTEGER        NULL,
            channel     TEXT           NULL,
            category    TEXT           NULL
        );
        """;

    public const string Indexes = """
        ALTER TABLE baseline_customers ADD PRIMARY KEY (customer_id);
        CREATE INDEX baseline_customers_email ON baseline_customers ((emails[1]));
        CREATE INDEX baseline_customers_last_name ON baseline_customers (lower(last_name));
        ALTER TABLE baseline_contacts ADD PRIMARY KEY (customer_id, event_id);
        CREATE INDEX baseline_contacts_recent ON baseline_contacts (customer_id, occurred_at DESC);
        ALTER TABLE baseline_contacts ADD FOREIGN KEY (customer_id) REFERENCES baseline_customers (customer_id);
        -- The event id is the idempotency key of ingest: a retried event is not counted twice.
        ALTER TABLE baseline_transactions ADD PRIMARY KEY (customer_id, event_id);
        CREATE INDEX baseline_transactions_recent ON baseline_transactions (customer_id, occurred_at DESC);
        ALTER TABLE baseline_transactions ADD FOREIGN KEY (customer_id) REFERENCES baseline_customers (customer_id);
        ANALYZE baseline_customers, baseline_contacts, baseline_transactions;
        """;

    public sealed record Loaded(long Customers, long Contacts, long Transactions, TimeSpan CopyTime, TimeSpan IndexTime);

    public static async Task<Loaded> SeedAsync(string connectionString, SyntheticPopulation population, int customers)
    {
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand(Tables, connection);
            await create.ExecuteNonQueryAsync();
        }

        var clock = Stopwatch.StartNew();
        await using var c1 = new NpgsqlConnection(connectionString);
        await using var c2 = new NpgsqlConnection(connectionString);
        await using var c3 = new NpgsqlConnection(connectionString);
        await Task.WhenAll(c1.OpenAsync(), c2.OpenAsync(), c3.OpenAsync());
        long contactRows = 0, transactionRows = 0;
        await using (var people = await c1.BeginBinaryImportAsync("COPY baseline_customers FROM STDIN (FORMAT BINARY)"))
        await using (var contacts = await c2.BeginBinaryImportAsync("COPY baseline_contacts FROM STDIN (FORMAT BINARY)"))
        await using (var money = await c3.BeginBinaryImportAsync("COPY baseline_transactions FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < customers; i++)
            {
                var (row, contactList, transactionList) = BaselineRows.From(population.Customer(i));
                await WriteAsync(people, row);
                foreach (var c in contactList)
                {
                    await WriteAsync(contacts, c);
                }

                foreach (var t in transactionList)
                {
                    await WriteAsync(money, t);
                }

                contactRows += contactList.Count;
                transactionRows += transactionList.Count;
            }

            await Task.WhenAll(people.CompleteAsync().AsTask(), contacts.CompleteAsync().AsTask(), money.CompleteAsync().AsTask());
        }

        var copied = clock.Elapsed;
        await using (var index = new NpgsqlCommand(Indexes, c1) { CommandTimeout = 0 })
        {
            await index.ExecuteNonQueryAsync();
        }

        return new Loaded(customers, contactRows, transactionRows, copied, clock.Elapsed - copied);
    }

    private static async Task WriteAsync(NpgsqlBinaryImporter copy, BaselineCustomerRow r)
    {
        await copy.StartRowAsync();
        await copy.WriteAsync(r.CustomerId, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.FirstName, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.LastName, NpgsqlDbType.Text);
        await copy.WriteAsync(r.Emails, NpgsqlDbType.Array | NpgsqlDbType.Text);
        await copy.WriteAsync(r.Phones, NpgsqlDbType.Array | NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.BirthDate, NpgsqlDbType.Date);
        await WriteOrNullAsync(copy, r.AddressLine1, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.City, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.PostalCode, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.Country, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.Region, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.PreferredChannel, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.Tier, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.Kind, NpgsqlDbType.Text);
        await copy.WriteAsync(r.Tags, NpgsqlDbType.Array | NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.MarketingEmail, NpgsqlDbType.Boolean);
        await WriteOrNullAsync(copy, r.MarketingSms, NpgsqlDbType.Boolean);
        await WriteOrNullAsync(copy, r.MarketingPhone, NpgsqlDbType.Boolean);
        await WriteOrNullAsync(copy, r.ConsentChangedAt?.UtcDateTime, NpgsqlDbType.TimestampTz);
        await copy.WriteAsync(r.PurchaseCount, NpgsqlDbType.Integer);
        await copy.WriteAsync(r.PurchaseTotal, NpgsqlDbType.Numeric);
        await WriteOrNullAsync(copy, r.FirstPurchaseAt?.UtcDateTime, NpgsqlDbType.TimestampTz);
        await WriteOrNullAsync(copy, r.LastPurchaseAt?.UtcDateTime, NpgsqlDbType.TimestampTz);
        await copy.WriteAsync(r.CreatedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
        await copy.WriteAsync(r.UpdatedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
    }

    private static async Task WriteAsync(NpgsqlBinaryImporter copy, BaselineContactRow r)
    {
        await copy.StartRowAsync();
        await copy.WriteAsync(r.CustomerId, NpgsqlDbType.Text);
        await copy.WriteAsync(r.EventId, NpgsqlDbType.Text);
        await copy.WriteAsync(r.OccurredAt.UtcDateTime, NpgsqlDbType.TimestampTz);
        await copy.WriteAsync(r.Type, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.Channel, NpgsqlDbType.Text);
        await copy.WriteAsync(r.Direction, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.Agent, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.Campaign, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.Outcome, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.Subject, NpgsqlDbType.Text);
    }

    private static async Task WriteAsync(NpgsqlBinaryImporter copy, BaselineTransactionRow r)
    {
        await copy.StartRowAsync();
        await copy.WriteAsync(r.CustomerId, NpgsqlDbType.Text);
        await copy.WriteAsync(r.EventId, NpgsqlDbType.Text);
        await copy.WriteAsync(r.Kind, NpgsqlDbType.Text);
        await copy.WriteAsync(r.OccurredAt.UtcDateTime, NpgsqlDbType.TimestampTz);
        await copy.WriteAsync(r.Amount, NpgsqlDbType.Numeric);
        await WriteOrNullAsync(copy, r.Quantity, NpgsqlDbType.Integer);
        await WriteOrNullAsync(copy, r.Channel, NpgsqlDbType.Text);
        await WriteOrNullAsync(copy, r.Category, NpgsqlDbType.Text);
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
