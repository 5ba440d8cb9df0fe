using System.Data.Common;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;
using OrleansCrm.Customers;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Silo.Storage;

/// <summary>
/// <see cref="IContactIndex"/> on the deployment's database (table <c>crm_contact_index</c>, created by
/// <c>db/&lt;kind&gt;/0010_contact_index.sql</c>). Claims and releases of a customer's own contact points ride its group
/// commit (<see cref="CustomerCommitSql"/>); this class reads holders and makes the changes that span customers.
/// </summary>
public sealed class AdoNetContactIndex(StorageSettings storage, IOptions<ClusterOptions> cluster, ILogger<AdoNetContactIndex> logger) : IContactIndex
{
    /// <summary>The contact-index grain's state name and grain type, before the index became rows.</summary>
    private const string OldStateName = "contactindex";
    private const string OldGrainType = "contact-index";
    private const int MigrationPage = 500;

    private readonly bool _postgres = storage.Kind == StorageKind.Postgres;
    private readonly string _serviceId = cluster.Value.ServiceId;

    public async Task<IReadOnlyList<string>> HoldersAsync(string key, int limit)
    {
        await using var connection = await Db.OpenAsync(storage);
        await using var select = Db.Command(connection, null,
            "SELECT customer_id FROM crm_contact_index WHERE service_id = @s AND contact_key = @k ORDER BY claim_seq LIMIT @n");
        select.Add("s", _serviceId);
        select.Add("k", key);
        select.Add("n", limit);
        var holders = new List<string>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            holders.Add(reader.GetString(0));
        }

        return holders;
    }

    public async Task ReassignAsync(IReadOnlyCollection<string> keys, string fromCustomerId, string toCustomerId)
    {
        if (keys.Count == 0)
        {
            return;
        }

        await using var connection = await Db.OpenAsync(storage);
        await using var transaction = await connection.BeginTransactionAsync();
        foreach (var key in keys)
        {
            // The absorbed customer's row becomes the survivor's (keeping its place) unless the survivor holds the
            // point already; then the absorbed row goes. A point neither held is claimed by the survivor.
            await using var move = Db.Command(connection, transaction, """
                UPDATE crm_contact_index SET customer_id = @to
                WHERE service_id = @s AND contact_key = @k AND customer_id = @from
                  AND NOT EXISTS (SELECT 1 FROM crm_contact_index held WHERE held.service_id = @s AND held.contact_key = @k AND held.customer_id = @to);
                DELETE FROM crm_contact_index WHERE service_id = @s AND contact_key = @k AND customer_id = @from;
                INSERT INTO crm_contact_index (service_id, contact_key, customer_id) VALUES (@s, @k, @to)
                ON CONFLICT (service_id, contact_key, customer_id) DO NOTHING;
                """);
            move.Add("s", _serviceId);
            move.Add("k", key);
            move.Add("from", fromCustomerId);
            move.Add("to", toCustomerId);
            await move.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    public async Task<int> ReleaseAllAsync(IReadOnlyCollection<string> customerIds)
    {
        if (customerIds.Count == 0)
        {
            return 0;
        }

        await using var connection = await Db.OpenAsync(storage);
        await using var delete = Db.Command(connection, null, "");
        delete.Add("s", _serviceId);
        var ids = new StringBuilder();
        var i = 0;
        foreach (var id in customerIds)
        {
            ids.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"@c{i}");
            delete.Add($"c{i++}", id);
        }

        delete.CommandText = $"DELETE FROM crm_contact_index WHERE service_id = @s AND customer_id IN ({ids}) RETURNING contact_key";
        var released = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await delete.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            released.Add(reader.GetString(0));
        }

        return released.Count;
    }

    /// <summary>
    /// Moves the index entries that earlier versions kept as contact-index grain states (in <c>crm_grain_state</c>, or
    /// still in Orleans' grain storage) into rows, the holders in their order, and deletes each old state (its key is
    /// the e-mail or phone it indexes). Run by every silo before it joins; idempotent, so silos starting together may
    /// both run it. Returns how many entries moved.
    /// </summary>
    public async Task<int> MigrateGrainStatesAsync(IServiceProvider services, CancellationToken cancellation)
    {
        var crm = services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Crm);
        var legacy = services.GetRequiredKeyedService<IGrainStorage>(BatchedGrainStorage.LegacyStorageName);
        var grains = new List<(GrainId Grain, IGrainStorage Store)>();
        await using (var connection = await Db.OpenAsync(storage, cancellation))
        {
            await using (var select = Db.Command(connection, null, "SELECT grain_id FROM crm_grain_state WHERE service_id = @s AND state_name = @n"))
            {
                select.Add("s", _serviceId);
                select.Add("n", OldStateName);
                await using var reader = await select.ExecuteReaderAsync(cancellation);
                while (await reader.ReadAsync(cancellation))
                {
                    grains.Add((GrainId.Parse(reader.GetString(0)), crm));
                }
            }

            // Orleans' ADO.NET storage keeps a string key in the extension column and the state name as the type.
            await using (var select = Db.Command(connection, null,
                $"SELECT grainidextensionstring FROM {(_postgres ? "orleansstorage" : "OrleansStorage")} WHERE serviceid = @s AND graintypestring = @n"))
            {
                select.Add("s", _serviceId);
                select.Add("n", OldStateName);
                await using var reader = await select.ExecuteReaderAsync(cancellation);
                while (await reader.ReadAsync(cancellation))
                {
                    if (!reader.IsDBNull(0))
                    {
                        grains.Add((GrainId.Create(OldGrainType, reader.GetString(0)), legacy));
                    }
                }
            }
        }

        var moved = 0;
        foreach (var page in grains.Chunk(MigrationPage))
        {
            var states = new List<(GrainId Grain, IGrainStorage Store, GrainState<ContactIndexState> State)>();
            foreach (var (grain, store) in page)
            {
                var state = new GrainState<ContactIndexState>(new ContactIndexState());
                await store.ReadStateAsync(OldStateName, grain, state);
                if (state.RecordExists)
                {
                    states.Add((grain, store, state));
                }
            }

            // Rows first, then the old states: a crash in between leaves both, and the next start moves them again.
            await InsertInOrderAsync(
                [.. states.SelectMany(s => (s.State.State?.Holders ?? []).Distinct(StringComparer.Ordinal).Select(h => (s.Grain.Key.ToString()!, h)))],
                cancellation);
            foreach (var (grain, store, state) in states)
            {
                try
                {
                    await store.ClearStateAsync(OldStateName, grain, state);
                    moved++;
                }
                catch (InconsistentStateException)
                {
                    // Another silo starting at the same time moved it first.
                }
            }
        }

        if (moved > 0)
        {
            logger.LogInformation("Lookup index: {Entries} contact points moved from grain states to crm_contact_index", moved);
        }

        return moved;
    }

    private async Task InsertInOrderAsync(List<(string Key, string CustomerId)> rows, CancellationToken cancellation)
    {
        if (rows.Count == 0)
        {
            return;
        }

        await using var connection = await Db.OpenAsync(storage, cancellation);
        await using var transaction = await connection.BeginTransactionAsync(cancellation);

        // One row per statement: each takes the next claim_seq, so the holders keep their order.
        foreach (var (key, customerId) in rows)
        {
            await using var insert = Db.Command(connection, transaction, """
                INSERT INTO crm_contact_index (service_id, contact_key, customer_id) VALUES (@s, @k, @c)
                ON CONFLICT (service_id, contact_key, customer_id) DO NOTHING
                """);
            insert.Add("s", _serviceId);
            insert.Add("k", key);
            insert.Add("c", customerId);
            await insert.ExecuteNonQueryAsync(cancellation);
        }

        await transaction.CommitAsync(cancellation);
    }
}
