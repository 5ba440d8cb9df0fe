using System.Globalization;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansCrm.Campaigns;
using OrleansCrm.Customers;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Silo.Storage;

/// <summary><see cref="ICampaignActionStore"/> on the deployment's database (<c>db/&lt;kind&gt;/0005</c> to <c>0007</c>).</summary>
public sealed class AdoNetCampaignActionStore(StorageSettings storage, IOptions<ClusterOptions> cluster, ICustomerWriter writer) : ICampaignActionStore
{
    private readonly bool _postgres = storage.Kind == StorageKind.Postgres;
    private readonly string _serviceId = cluster.Value.ServiceId;

    private const string Columns = "seq, idempotency_key, campaign_id, step_id, customer_id, channel, subject, body, html, not_before, created_at, delivery_state, priority, planned_day, agent_id";

    /// <summary>One action on its own goes through the silo's group-commit writer, the same statement that stores a
    /// customer's decided actions with its contact (released at once unless its channel has a daily limit).</summary>
    public async Task<bool> AddAsync(CampaignAction action) =>
        (await writer.CommitAsync(new CustomerCommit(action.CustomerId, [], Actions: [action]))).ActionsAdded == 1;

    public async Task<FeedPage> ReadAsync(FeedCursor after, int limit, string? campaignId)
    {
        var window = _postgres
            ? "(release_tx, release_seq) > (@tx, @rs) AND release_tx < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
            : "release_tx = 0 AND release_seq > @rs";
        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null, $"""
            SELECT {Columns}, release_tx, release_seq
            FROM crm_campaign_actions WHERE service_id = @s AND release_seq IS NOT NULL AND {window} {(campaignId is null ? "" : "AND campaign_id = @c")}
            ORDER BY release_tx, release_seq LIMIT @l
            """);
        select.Add("s", _serviceId);
        select.Add("tx", after.Transaction);
        select.Add("rs", after.Sequence);
        select.Add("l", limit);
        if (campaignId is not null)
        {
            select.Add("c", campaignId);
        }

        var actions = new List<CampaignAction>();
        var next = after;
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            actions.Add(Read(reader));
            next = new FeedCursor(reader.GetInt64(15), reader.GetInt64(16));
        }

        return new FeedPage([.. actions], next);
    }

    public async Task<IReadOnlyList<(CampaignAction Action, int Attempts)>> DueForDeliveryAsync(DateTimeOffset now, int limit)
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null, $"""
            SELECT {Columns}, attempts
            FROM crm_campaign_actions
            WHERE service_id = @s AND delivery_state = 'pending' AND release_seq IS NOT NULL AND agent_id IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= @n)
            ORDER BY seq LIMIT @l
            """);
        select.Add("s", _serviceId);
        select.Add("n", Time(now));
        select.Add("l", limit);
        var due = new List<(CampaignAction, int)>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            due.Add((Read(reader), reader.GetInt32(15)));
        }

        return due;
    }

    public async Task RecordDeliveriesAsync(IReadOnlyList<DeliveryAttempt> attempts)
    {
        if (attempts.Count == 0)
        {
            return;
        }

        // One UPDATE joined to the batch's rows. PostgreSQL needs each value's type (a NULL time would otherwise be
        // text); SQLite takes them as they come (UPDATE ... FROM since SQLite 3.33).
        string Cast(string parameter, string type) => _postgres ? $"CAST({parameter} AS {type})" : parameter;
        await using var connection = await Db.OpenAsync(storage);
        await using var update = Db.Command(connection, null, "");
        update.Add("s", _serviceId);
        var rows = new List<string>(attempts.Count);
        for (var i = 0; i < attempts.Count; i++)
        {
            var a = attempts[i];
            rows.Add($"({Cast($"@q{i}", "bigint")}, {Cast($"@d{i}", "text")}, {Cast($"@a{i}", "integer")}, {Cast($"@n{i}", "timestamptz")}, {Cast($"@t{i}", "timestamptz")}, {Cast($"@e{i}", "text")})");
            update.Add($"q{i}", a.Sequence);
            update.Add($"d{i}", a.DeliveryState);
            update.Add($"a{i}", a.Attempts);
            update.Add($"n{i}", a.NextAttemptAt is { } next ? Time(next) : null);
            update.Add($"t{i}", a.DeliveredAt is { } at ? Time(at) : null);
            update.Add($"e{i}", a.LastError is { Length: > 500 } error ? error[..500] : a.LastError);
        }

        update.CommandText = $"""
            WITH v (q, d, a, n, t, e) AS (VALUES {string.Join(", ", rows)})
            UPDATE crm_campaign_actions SET delivery_state = v.d, attempts = v.a, next_attempt_at = v.n, delivered_at = v.t, last_error = v.e
            FROM v WHERE crm_campaign_actions.service_id = @s AND crm_campaign_actions.seq = v.q
            """;
        await update.ExecuteNonQueryAsync();
    }

    /// <summary>The registry's campaign response types as an SQL list (the names are the code's own constants).</summary>
    private static readonly string ResponseTypes = string.Join(", ", CustomerEventTypes.CampaignResponseTypes.Select(t =>
        t.All(c => char.IsAsciiLetterLower(c) || c == '.') ? $"'{t}'" : throw new InvalidOperationException($"event type name {t} is not a plain name")));

    public async Task<IReadOnlyList<ExposureResult>> ResultsAsync(string campaignId, int attributionDays)
    {
        var (campaign, segment, outcome, window) = _postgres
            ? ("e.data->>'campaign'", "e.data->>'segment'", "x.data->>'outcome'", "x.occurred_at <= e.occurred_at + (@d * interval '1 day')")
            : ("json_extract(e.data, '$.campaign')", "json_extract(e.data, '$.segment')", "json_extract(x.data, '$.outcome')", "julianday(x.occurred_at) <= julianday(e.occurred_at) + @d");
        var after = $"x.service_id = e.service_id AND x.customer_id = e.customer_id AND x.occurred_at > e.occurred_at AND {window}";
        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null, $"""
            SELECT e.type, coalesce(e.channel, ''), coalesce({segment}, ''), count(*),
                   sum(CASE WHEN EXISTS (SELECT 1 FROM crm_customer_events x WHERE {after}
                       AND (x.type IN ({ResponseTypes}) OR (x.type = 'offer.outcome' AND {outcome} = 'accepted'))) THEN 1 ELSE 0 END),
                   sum(CASE WHEN EXISTS (SELECT 1 FROM crm_customer_events x WHERE {after} AND x.type = 'purchase') THEN 1 ELSE 0 END),
                   coalesce(sum((SELECT sum(x.amount) FROM crm_customer_events x WHERE {after} AND x.type = 'purchase')), 0)
            FROM crm_customer_events e
            WHERE e.service_id = @s AND e.type IN ('campaign.contact', 'campaign.holdout') AND {campaign} = @c
            GROUP BY e.type, coalesce(e.channel, ''), coalesce({segment}, '')
            """);
        select.Add("s", _serviceId);
        select.Add("c", campaignId);
        select.Add("d", attributionDays);
        var rows = new List<ExposureResult>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new ExposureResult(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), Long(reader, 4), Long(reader, 5),
                Convert.ToDecimal(reader.GetValue(6), CultureInfo.InvariantCulture)));
        }

        return rows;
    }

    public async Task SetChannelLimitsAsync(IReadOnlyDictionary<string, int> limits)
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var delete = Db.Command(connection, transaction, "DELETE FROM crm_channel_limits WHERE service_id = @s"))
        {
            delete.Add("s", _serviceId);
            await delete.ExecuteNonQueryAsync();
        }

        foreach (var (channel, limit) in limits)
        {
            await using var insert = Db.Command(connection, transaction, "INSERT INTO crm_channel_limits (service_id, channel, daily_limit) VALUES (@s, @c, @l)");
            insert.Add("s", _serviceId);
            insert.Add("c", channel);
            insert.Add("l", limit);
            await insert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    public async Task<IReadOnlyList<string>> WaitingChannelsAsync()
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null, "SELECT DISTINCT channel FROM crm_campaign_actions WHERE service_id = @s AND release_seq IS NULL");
        select.Add("s", _serviceId);
        var channels = new List<string>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            channels.Add(reader.GetString(0));
        }

        return channels;
    }

    public async Task<(int Total, Dictionary<string, int> PerAgent)> PlannedAsync(string channel, string day)
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null, """
            SELECT coalesce(agent_id, ''), count(*) FROM crm_campaign_actions
            WHERE service_id = @s AND channel = @c AND planned_day = @d GROUP BY coalesce(agent_id, '')
            """);
        select.Add("s", _serviceId);
        select.Add("c", channel);
        select.Add("d", day);
        var perAgent = new Dictionary<string, int>(StringComparer.Ordinal);
        var total = 0;
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var count = (int)reader.GetInt64(1);
            total += count;
            if (reader.GetString(0) is { Length: > 0 } agent)
            {
                perAgent[agent] = count;
            }
        }

        return (total, perAgent);
    }

    public async Task<int> ReleaseAsync(string channel, string day, string? agentId, int count)
    {
        if (count <= 0)
        {
            return 0;
        }

        const string Waiting = "SELECT seq FROM crm_campaign_actions WHERE service_id = @s AND channel = @c AND release_seq IS NULL ORDER BY priority DESC, seq LIMIT @n";
        await using var connection = await Db.OpenAsync(storage);
        if (_postgres)
        {
            await using var update = Db.Command(connection, null, $"""
                UPDATE crm_campaign_actions
                SET planned_day = @d, agent_id = @a, release_tx = pg_current_xact_id()::text::bigint, release_seq = nextval('crm_campaign_action_release')
                WHERE service_id = @s AND seq IN ({Waiting})
                """);
            AddRelease(update, channel, day, agentId, count);
            return await update.ExecuteNonQueryAsync();
        }

        // SQLite: one writer at a time, so the largest release number read in this transaction stays the largest.
        await using var transaction = await connection.BeginTransactionAsync();
        var seqs = new List<long>();
        long last;
        await using (var select = Db.Command(connection, transaction, Waiting))
        {
            AddRelease(select, channel, day, agentId, count);
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                seqs.Add(reader.GetInt64(0));
            }
        }

        await using (var max = Db.Command(connection, transaction, "SELECT coalesce(max(release_seq), 0) FROM crm_campaign_actions WHERE service_id = @s AND release_tx = 0"))
        {
            max.Add("s", _serviceId);
            last = Convert.ToInt64(await max.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }

        foreach (var seq in seqs)
        {
            await using var update = Db.Command(connection, transaction,
                "UPDATE crm_campaign_actions SET planned_day = @d, agent_id = @a, release_tx = 0, release_seq = @r WHERE service_id = @s AND seq = @q");
            AddRelease(update, channel, day, agentId, count);
            update.Add("r", ++last);
            update.Add("q", seq);
            await update.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return seqs.Count;
    }

    public async Task<IReadOnlyList<CallListEntry>> CallListAsync(string agentId, string day)
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null, """
            SELECT seq, campaign_id, customer_id, subject, body, priority, delivery_state FROM crm_campaign_actions
            WHERE service_id = @s AND agent_id = @a AND planned_day = @d ORDER BY priority DESC, seq
            """);
        select.Add("s", _serviceId);
        select.Add("a", agentId);
        select.Add("d", day);
        var calls = new List<CallListEntry>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            calls.Add(new CallListEntry(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetString(4), Convert.ToInt32(reader.GetValue(5), CultureInfo.InvariantCulture), reader.GetString(6)));
        }

        return calls;
    }

    public async Task<bool> CompleteCallAsync(string agentId, long sequence, DateTimeOffset at)
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var update = Db.Command(connection, null, """
            UPDATE crm_campaign_actions SET delivery_state = 'delivered', delivered_at = @at, attempts = attempts + 1
            WHERE service_id = @s AND seq = @q AND agent_id = @a AND delivery_state = 'pending'
            """);
        update.Add("s", _serviceId);
        update.Add("q", sequence);
        update.Add("a", agentId);
        update.Add("at", Time(at));
        if (await update.ExecuteNonQueryAsync() == 1)
        {
            return true;
        }

        // Called before: answering true again keeps a retried request harmless.
        await using var select = Db.Command(connection, null, "SELECT count(*) FROM crm_campaign_actions WHERE service_id = @s AND seq = @q AND agent_id = @a");
        select.Add("s", _serviceId);
        select.Add("q", sequence);
        select.Add("a", agentId);
        return Convert.ToInt64(await select.ExecuteScalarAsync(), CultureInfo.InvariantCulture) > 0;
    }

    public async Task<DeliveryCounts> CountsAsync(string campaignId)
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null, """
            SELECT sum(CASE WHEN release_seq IS NULL THEN 1 ELSE 0 END),
                   sum(CASE WHEN release_seq IS NOT NULL AND delivery_state = 'pending' THEN 1 ELSE 0 END),
                   sum(CASE WHEN delivery_state = 'delivered' THEN 1 ELSE 0 END),
                   sum(CASE WHEN delivery_state = 'failed' THEN 1 ELSE 0 END)
            FROM crm_campaign_actions WHERE service_id = @s AND campaign_id = @c
            """);
        select.Add("s", _serviceId);
        select.Add("c", campaignId);
        await using var reader = await select.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new DeliveryCounts(Long(reader, 0), Long(reader, 1), Long(reader, 2), Long(reader, 3));
    }

    private void AddRelease(System.Data.Common.DbCommand command, string channel, string day, string? agentId, int count)
    {
        command.Add("s", _serviceId);
        command.Add("c", channel);
        command.Add("d", day);
        command.Add("a", agentId);
        command.Add("n", count);
    }

    public async Task<IReadOnlyList<CampaignAction>> ForCustomersAsync(IReadOnlyList<string> customerIds)
    {
        var actions = new List<CampaignAction>();
        if (customerIds.Count == 0)
        {
            return actions;
        }

        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null, "");
        select.CommandText = $"SELECT {Columns} FROM crm_campaign_actions WHERE service_id = @s AND customer_id IN ({CustomerList(select, customerIds)}) ORDER BY seq";
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            actions.Add(Read(reader));
        }

        return actions;
    }

    public async Task<int> BlankAsync(IReadOnlyList<string> customerIds)
    {
        if (customerIds.Count == 0)
        {
            return 0;
        }

        await using var connection = await Db.OpenAsync(storage);
        await using var update = Db.Command(connection, null, "");
        update.CommandText = $"""
            UPDATE crm_campaign_actions SET subject = NULL, body = '', last_error = NULL
            WHERE service_id = @s AND customer_id IN ({CustomerList(update, customerIds)})
              AND (subject IS NOT NULL OR body <> '' OR last_error IS NOT NULL)
            """;
        return await update.ExecuteNonQueryAsync();
    }

    /// <summary>Adds the service id and one parameter per customer; returns the parameter list for an IN clause.</summary>
    private string CustomerList(System.Data.Common.DbCommand command, IReadOnlyList<string> customerIds)
    {
        command.Add("s", _serviceId);
        var names = new List<string>(customerIds.Count);
        for (var i = 0; i < customerIds.Count; i++)
        {
            names.Add($"@c{i}");
            command.Add($"c{i}", customerIds[i]);
        }

        return string.Join(", ", names);
    }

    /// <summary>A count or sum that may be NULL (no rows) or, on PostgreSQL, numeric.</summary>
    private static long Long(System.Data.Common.DbDataReader reader, int column) =>
        reader.IsDBNull(column) ? 0 : Convert.ToInt64(reader.GetValue(column), CultureInfo.InvariantCulture);

    private CampaignAction Read(System.Data.Common.DbDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetString(3),
        reader.GetString(4),
        reader.GetString(5),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.GetString(7),
        _postgres ? reader.GetBoolean(8) : reader.GetInt64(8) == 1,
        reader.IsDBNull(9) ? null : ReadTime(reader, 9),
        ReadTime(reader, 10),
        reader.GetString(11),
        Convert.ToInt32(reader.GetValue(12), CultureInfo.InvariantCulture),
        reader.IsDBNull(13) ? null : reader.GetString(13),
        reader.IsDBNull(14) ? null : reader.GetString(14));

    private object Time(DateTimeOffset at) => Db.Time(_postgres, at);

    private DateTimeOffset ReadTime(System.Data.Common.DbDataReader reader, int column) => reader.ReadTime(column, _postgres);
}
