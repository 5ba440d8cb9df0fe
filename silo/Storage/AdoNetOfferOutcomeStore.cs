using System.Data.Common;
using System.Globalization;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansCrm.Decisions;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Silo.Storage;

/// <summary><see cref="IOfferOutcomeStore"/> on the deployment's database (<c>db/&lt;kind&gt;/0012_offer_outcomes.sql</c>).</summary>
public sealed class AdoNetOfferOutcomeStore(StorageSettings storage, IOptions<ClusterOptions> cluster, TimeProvider clock) : IOfferOutcomeStore
{
    private readonly bool _postgres = storage.Kind == StorageKind.Postgres;
    private readonly string _serviceId = cluster.Value.ServiceId;

    public async Task<IReadOnlySet<string>> AddAsync(string offerId, IReadOnlyList<OfferOutcome> outcomes)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var unique = outcomes.DistinctBy(o => o.OutcomeId, StringComparer.Ordinal).ToList();
        var stored = unique.Count == 0 ? new HashSet<string>(StringComparer.Ordinal) : await AddCoreAsync(offerId, unique);
        OrleansCrm.Telemetry.CrmMetrics.StorageCall("offer.outcomes", started);
        return stored;
    }

    private async Task<HashSet<string>> AddCoreAsync(string offerId, List<OfferOutcome> outcomes)
    {
        await using var connection = await Db.OpenAsync(storage);
        var stored = new HashSet<string>(StringComparer.Ordinal);
        if (_postgres)
        {
            // One statement: the key decides which rows are new, even against another activation writing at once.
            await using var insert = Insert(connection, null, offerId, outcomes, "RETURNING outcome_id");
            await using var reader = await insert.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                stored.Add(reader.GetString(0));
            }

            return stored;
        }

        // SQLite has one writer at a time, so inside this (immediate) transaction the ids read as present stay the only
        // ones; it avoids RETURNING (db/README.md, SQLite notes).
        await using var transaction = await connection.BeginTransactionAsync();
        var present = new HashSet<string>(StringComparer.Ordinal);
        await using (var select = Db.Command(connection, transaction, ""))
        {
            select.Add("s", _serviceId);
            select.Add("o", offerId);
            var names = new List<string>(outcomes.Count);
            for (var i = 0; i < outcomes.Count; i++)
            {
                names.Add($"@i{i}");
                select.Add($"i{i}", outcomes[i].OutcomeId);
            }

            select.CommandText = $"SELECT outcome_id FROM crm_offer_outcomes WHERE service_id = @s AND offer_id = @o AND outcome_id IN ({string.Join(", ", names)})";
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                present.Add(reader.GetString(0));
            }
        }

        var fresh = outcomes.Where(o => !present.Contains(o.OutcomeId)).ToList();
        if (fresh.Count > 0)
        {
            await using var insert = Insert(connection, transaction, offerId, fresh, "");
            await insert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        stored.UnionWith(fresh.Select(o => o.OutcomeId));
        return stored;
    }

    private DbCommand Insert(DbConnection connection, DbTransaction? transaction, string offerId, List<OfferOutcome> outcomes, string returning)
    {
        var insert = Db.Command(connection, transaction, "");
        insert.Add("s", _serviceId);
        insert.Add("o", offerId);
        insert.Add("t", Db.Time(_postgres, clock.GetUtcNow()));
        var rows = new List<string>(outcomes.Count);
        for (var i = 0; i < outcomes.Count; i++)
        {
            rows.Add($"(@s, @o, @i{i}, @g{i}, @r{i}, @t)");
            insert.Add($"i{i}", outcomes[i].OutcomeId);
            insert.Add($"g{i}", outcomes[i].Group);
            insert.Add($"r{i}", outcomes[i].Outcome);
        }

        insert.CommandText = $"""
            INSERT INTO crm_offer_outcomes (service_id, offer_id, outcome_id, group_label, outcome, recorded_at) VALUES {string.Join(", ", rows)}
            ON CONFLICT (service_id, offer_id, outcome_id) DO NOTHING {returning}
            """;
        return insert;
    }

    public async Task<IReadOnlyDictionary<string, OutcomeCounts>> CountAsync(string offerId)
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null,
            "SELECT group_label, outcome, count(*) FROM crm_offer_outcomes WHERE service_id = @s AND offer_id = @o GROUP BY group_label, outcome");
        select.Add("s", _serviceId);
        select.Add("o", offerId);
        var counts = new Dictionary<string, OutcomeCounts>(StringComparer.Ordinal);
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var group = reader.GetString(0);
            counts[group] = OutcomeTally.Add(counts.GetValueOrDefault(group), reader.GetString(1), Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture));
        }

        return counts;
    }
}
