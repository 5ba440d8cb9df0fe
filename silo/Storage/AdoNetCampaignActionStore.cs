using System.Globalization;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansCrm.Campaigns;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Silo.Storage;

/// <summary><see cref="ICampaignActionStore"/> on the deployment's database (<c>db/&lt;kind&gt;/0005_campaign_actions.sql</c>).</summary>
public sealed class AdoNetCampaignActionStore(StorageSettings storage, IOptions<ClusterOptions> cluster) : ICampaignActionStore
{
    private readonly bool _postgres = storage.Kind == StorageKind.Postgres;
    private readonly string _serviceId = cluster.Value.ServiceId;

    public async Task<bool> AddAsync(CampaignAction action)
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var insert = Db.Command(connection, null, """
            INSERT INTO crm_campaign_actions (service_id, idempotency_key, campaign_id, step_id, customer_id, channel, subject, body, html, not_before, created_at, delivery_state, attempts)
            VALUES (@s, @k, @c, @st, @cu, @ch, @su, @b, @h, @nb, @ca, 'pending', 0)
            ON CONFLICT (service_id, idempotency_key) DO NOTHING
            """);
        insert.Add("s", _serviceId);
        insert.Add("k", action.IdempotencyKey);
        insert.Add("c", action.CampaignId);
        insert.Add("st", action.StepId);
        insert.Add("cu", action.CustomerId);
        insert.Add("ch", action.Channel);
        insert.Add("su", action.Subject);
        insert.Add("b", action.Body);
        insert.Add("h", _postgres ? action.Html : action.Html ? 1 : 0);
        insert.Add("nb", action.NotBefore is { } notBefore ? Time(notBefore) : null);
        insert.Add("ca", Time(action.CreatedAt));
        return await insert.ExecuteNonQueryAsync() == 1;
    }

    public async Task<IReadOnlyList<CampaignAction>> ReadAsync(long afterSequence, int limit, string? campaignId)
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null, $"""
            SELECT seq, idempotency_key, campaign_id, step_id, customer_id, channel, subject, body, html, not_before, created_at, delivery_state
            FROM crm_campaign_actions WHERE service_id = @s AND seq > @a {(campaignId is null ? "" : "AND campaign_id = @c")} ORDER BY seq LIMIT @l
            """);
        select.Add("s", _serviceId);
        select.Add("a", afterSequence);
        select.Add("l", limit);
        if (campaignId is not null)
        {
            select.Add("c", campaignId);
        }

        var actions = new List<CampaignAction>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            actions.Add(Read(reader));
        }

        return actions;
    }

    public async Task<IReadOnlyList<(CampaignAction Action, int Attempts)>> DueForDeliveryAsync(DateTimeOffset now, int limit)
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null, """
            SELECT seq, idempotency_key, campaign_id, step_id, customer_id, channel, subject, body, html, not_before, created_at, delivery_state, attempts
            FROM crm_campaign_actions WHERE service_id = @s AND delivery_state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= @n)
            ORDER BY seq LIMIT @l
            """);
        select.Add("s", _serviceId);
        select.Add("n", Time(now));
        select.Add("l", limit);
        var due = new List<(CampaignAction, int)>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            due.Add((Read(reader), reader.GetInt32(12)));
        }

        return due;
    }

    public async Task RecordDeliveryAsync(long sequence, string deliveryState, int attempts, DateTimeOffset? nextAttemptAt, DateTimeOffset? deliveredAt, string? lastError)
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var update = Db.Command(connection, null, """
            UPDATE crm_campaign_actions SET delivery_state = @d, attempts = @a, next_attempt_at = @n, delivered_at = @at, last_error = @e
            WHERE service_id = @s AND seq = @q
            """);
        update.Add("s", _serviceId);
        update.Add("q", sequence);
        update.Add("d", deliveryState);
        update.Add("a", attempts);
        update.Add("n", nextAttemptAt is { } next ? Time(next) : null);
        update.Add("at", deliveredAt is { } at ? Time(at) : null);
        update.Add("e", lastError is { Length: > 500 } ? lastError[..500] : lastError);
        await update.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<(string Kind, string Channel, long Customers, long Responders, long Converters, decimal Revenue)>> ResultsAsync(string campaignId, int attributionDays)
    {
        var (campaign, outcome, window) = _postgres
            ? ("e.data->>'campaign'", "x.data->>'outcome'", "x.occurred_at <= e.occurred_at + (@d * interval '1 day')")
            : ("json_extract(e.data, '$.campaign')", "json_extract(x.data, '$.outcome')", "julianday(x.occurred_at) <= julianday(e.occurred_at) + @d");
        var after = $"x.service_id = e.service_id AND x.customer_id = e.customer_id AND x.occurred_at > e.occurred_at AND {window}";
        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null, $"""
            SELECT e.type, coalesce(e.channel, ''), count(*),
                   sum(CASE WHEN EXISTS (SELECT 1 FROM crm_customer_events x WHERE {after}
                       AND (x.type IN ('purchase', 'email.clicked', 'call.inbound') OR (x.type = 'offer.outcome' AND {outcome} = 'accepted'))) THEN 1 ELSE 0 END),
                   sum(CASE WHEN EXISTS (SELECT 1 FROM crm_customer_events x WHERE {after} AND x.type = 'purchase') THEN 1 ELSE 0 END),
                   coalesce(sum((SELECT sum(x.amount) FROM crm_customer_events x WHERE {after} AND x.type = 'purchase')), 0)
            FROM crm_customer_events e
            WHERE e.service_id = @s AND e.type IN ('campaign.contact', 'campaign.holdout') AND {campaign} = @c
            GROUP BY e.type, coalesce(e.channel, '')
            """);
        select.Add("s", _serviceId);
        select.Add("c", campaignId);
        select.Add("d", attributionDays);
        var rows = new List<(string, string, long, long, long, decimal)>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2), Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(4), CultureInfo.InvariantCulture), Convert.ToDecimal(reader.GetValue(5), CultureInfo.InvariantCulture)));
        }

        return rows;
    }

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
        reader.GetString(11));

    private object Time(DateTimeOffset at) => Db.Time(_postgres, at);

    private DateTimeOffset ReadTime(System.Data.Common.DbDataReader reader, int column) => reader.ReadTime(column, _postgres);
}
