using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OrleansCrm.Campaigns;
using OrleansCrm.Customers;

namespace OrleansCrm.Silo.Storage;

/// <summary>
/// The statements of one group commit (<see cref="GroupCommitWriter"/>), on SQLite or PostgreSQL: every commit's log
/// rows in multi-row inserts that skip ids already logged, the campaign actions, and the snapshots as version-checked
/// upserts. All run in the caller's transaction.
/// </summary>
internal sealed class CustomerCommitSql(bool postgres, string serviceId, TimeProvider clock)
{
    /// <summary>The state names the CRM's grains used in Orleans' grain storage.</summary>
    public static readonly string[] LegacyStateNames = ["customer", "idempotency", "campaign", "catalog", "contactindex", "segmentbackfill", "offerlearning"];

    /// <summary>Rows per statement: with eleven parameters a log row, well inside both databases' limits. SQLite looks
    /// a named parameter up by a linear search of the statement's names, so binding costs grow with the square of a
    /// statement's parameters: its statements stay small (they cost no round trip).</summary>
    private int RowsPerStatement => postgres ? 500 : SqliteRowsPerStatement;

    internal const int SqliteRowsPerStatement = 32;

    public async Task<(CommitResult[] Results, IReadOnlyList<LogAppend>?[] Created)> WriteAsync(
        DbConnection connection, DbTransaction transaction, IReadOnlyList<CustomerCommit> commits, IReadOnlyList<NewCustomer> creations)
    {
        // Customers' locks first (snapshots and creations), then the contact points' locks: every transaction takes
        // them in this order, so two batches cannot deadlock.
        await LockCustomersAsync(connection, transaction, [.. commits.Where(c => c.Snapshot is not null).Select(c => c.CustomerId), .. creations.Select(c => c.CustomerId)]);
        var existing = creations.Count == 0 ? [] : await ExistingAsync(connection, transaction, [.. creations.Select(c => c.CustomerId).Distinct(StringComparer.Ordinal)]);
        var creating = creations.Select((c, i) => (Index: i, c)).Where(x => !existing.Contains(x.c.CustomerId)).ToList();
        var all = creating.Count == 0 ? commits : [.. commits, .. creating.Select(x => new CustomerCommit(x.c.CustomerId, x.c.Events, Claims: x.c.Claims))];
        var results = await WriteCommitsAsync(connection, transaction, all, reportedCommits: commits.Count);
        var created = new IReadOnlyList<LogAppend>?[creations.Count];
        for (var i = 0; i < creating.Count; i++)
        {
            created[creating[i].Index] = results[commits.Count + i].Appends;
        }

        return (results.Length == commits.Count ? results : results[..commits.Count], created);
    }

    /// <summary>The lock space of customers (a snapshot write and a creation of the same customer exclude each other).</summary>
    private const int CustomerLockSpace = 0x4353; // "CS"

    private async Task LockCustomersAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<string> customerIds)
    {
        if (!postgres || customerIds.Count == 0)
        {
            // SQLite: one writer at a time; the transaction excludes every other.
            return;
        }

        await using var command = Db.Command(connection, transaction, $"SELECT pg_advisory_xact_lock({CustomerLockSpace}, k) FROM unnest(@k) AS k");
        command.Add("k", customerIds.Select(LockKey).Distinct().Order().ToArray());
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Which of <paramref name="customerIds"/> have a snapshot or a log row.</summary>
    private async Task<HashSet<string>> ExistingAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<string> customerIds)
    {
        var existing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in customerIds.Chunk(RowsPerStatement))
        {
            await using var select = Db.Command(connection, transaction, "");
            select.Add("s", serviceId);
            if (postgres)
            {
                select.CommandText = """
                    SELECT c FROM unnest(@c) AS c
                    WHERE EXISTS (SELECT 1 FROM crm_customer_state st WHERE st.service_id = @s AND st.customer_id = c)
                       OR EXISTS (SELECT 1 FROM crm_customer_events ev WHERE ev.service_id = @s AND ev.customer_id = c)
                    """;
                select.Add("c", chunk);
            }
            else
            {
                var ids = new StringBuilder();
                for (var i = 0; i < chunk.Length; i++)
                {
                    ids.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"@c{i}");
                    select.Add($"c{i}", chunk[i]);
                }

                select.CommandText = $"""
                    SELECT customer_id FROM crm_customer_state WHERE service_id = @s AND customer_id IN ({ids})
                    UNION SELECT customer_id FROM crm_customer_events WHERE service_id = @s AND customer_id IN ({ids})
                    """;
            }

            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                existing.Add(reader.GetString(0));
            }
        }

        return existing;
    }

    /// <summary>Stores <paramref name="commits"/>; the holders of claimed points are read for the first
    /// <paramref name="reportedCommits"/> only (a creation's caller, an import, has no one to report a conflict to).</summary>
    private async Task<CommitResult[]> WriteCommitsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<CustomerCommit> commits, int reportedCommits)
    {
        var now = clock.GetUtcNow();
        var holders = await ClaimContactsAsync(connection, transaction, commits, reportedCommits);
        var appends = await AppendEventsAsync(connection, transaction, commits, now);
        var added = await AddActionsAsync(connection, transaction, commits);
        await WriteDecisionsAsync(connection, transaction, commits);
        var (versions, conflicts) = await WriteSnapshotsAsync(connection, transaction, commits, now);
        await AppendAuditAsync(connection, transaction, commits);
        var results = new CommitResult[commits.Count];
        for (var i = 0; i < commits.Count; i++)
        {
            results[i] = new CommitResult(appends[i], versions[i], conflicts[i], added[i], holders[i]);
        }

        return results;
    }

    /// <summary>
    /// The lookup index's part of the batch: releases, then claims (inserted unless already held), then the holders of
    /// every claimed contact point but names, read in the same transaction. Runs first in the transaction: on PostgreSQL
    /// it takes a transaction-scoped advisory lock per claimed point (in one order, so two batches cannot deadlock),
    /// so of two customers claiming one e-mail in concurrent batches the second sees the first and reports the conflict.
    /// </summary>
    private async Task<Dictionary<string, string[]>?[]> ClaimContactsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<CustomerCommit> commits, int reportedCommits)
    {
        var holders = new Dictionary<string, string[]>?[commits.Count];
        var releases = commits.SelectMany(c => (c.Releases ?? []).Select(k => (Key: k, c.CustomerId))).Distinct().ToList();
        var claims = commits.SelectMany(c => (c.Claims ?? []).Select(k => (Key: k, c.CustomerId))).Distinct().ToList();
        if (releases.Count == 0 && claims.Count == 0)
        {
            return holders;
        }

        // Every claimed point but names is locked (so a concurrent claimant sees this one); only the reported ones'
        // holders are read back.
        var locked = claims.Select(c => c.Key).Where(k => !ContactPoints.IsNameKey(k)).Distinct(StringComparer.Ordinal).ToList();
        var reported = commits.Take(reportedCommits).SelectMany(c => c.Claims ?? []).Where(k => !ContactPoints.IsNameKey(k)).Distinct(StringComparer.Ordinal).ToList();
        if (postgres && locked.Count > 0)
        {
            await using var lockKeys = Db.Command(connection, transaction, $"SELECT pg_advisory_xact_lock({ContactLockSpace}, k) FROM unnest(@k) AS k");
            lockKeys.Add("k", locked.Select(LockKey).Distinct().Order().ToArray());
            await lockKeys.ExecuteNonQueryAsync();
        }

        foreach (var chunk in releases.Chunk(RowsPerStatement))
        {
            await using var delete = Db.Command(connection, transaction, "");
            delete.Add("s", serviceId);
            delete.CommandText = $"DELETE FROM crm_contact_index WHERE service_id = @s AND (contact_key, customer_id) IN ({PairList(delete, chunk)})";
            await delete.ExecuteNonQueryAsync();
        }

        var found = postgres
            ? await ClaimOnPostgresAsync(connection, transaction, claims, reported)
            : await ClaimOnSqliteAsync(connection, transaction, claims, reported);

        for (var i = 0; i < reportedCommits; i++)
        {
            if (commits[i].Claims is not { Count: > 0 } claimed)
            {
                continue;
            }

            var mine = new Dictionary<string, string[]>(StringComparer.Ordinal);
            foreach (var key in claimed.Where(k => !ContactPoints.IsNameKey(k)))
            {
                mine[key] = found.TryGetValue(key, out var list) ? [.. list] : [];
            }

            holders[i] = mine;
        }

        return holders;
    }

    /// <summary>PostgreSQL: arrays instead of value lists, so the statements' text never changes with the batch (one
    /// parse and plan shape), and each point's holders read through its claim-order index, stopping at the limit.</summary>
    private async Task<Dictionary<string, List<string>>> ClaimOnPostgresAsync(DbConnection connection, DbTransaction transaction, List<(string Key, string CustomerId)> claims, List<string> reported)
    {
        if (claims.Count > 0)
        {
            await using var insert = Db.Command(connection, transaction, """
                INSERT INTO crm_contact_index (service_id, contact_key, customer_id)
                SELECT @s, k, c FROM unnest(@k, @c) AS claim(k, c)
                ON CONFLICT (service_id, contact_key, customer_id) DO NOTHING
                """);
            insert.Add("s", serviceId);
            insert.Add("k", claims.Select(c => c.Key).ToArray());
            insert.Add("c", claims.Select(c => c.CustomerId).ToArray());
            await insert.ExecuteNonQueryAsync();
        }

        var found = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (reported.Count == 0)
        {
            return found;
        }

        await using var select = Db.Command(connection, transaction, """
            SELECT point.k, held.customer_id FROM unnest(@k) AS point(k)
            CROSS JOIN LATERAL (
                SELECT customer_id, claim_seq FROM crm_contact_index
                WHERE service_id = @s AND contact_key = point.k ORDER BY claim_seq LIMIT @n) held
            ORDER BY point.k, held.claim_seq
            """);
        select.Add("s", serviceId);
        select.Add("k", reported.ToArray());
        select.Add("n", ContactIndexLimits.HoldersReported);
        await ReadHoldersAsync(select, found);
        return found;
    }

    /// <summary>SQLite (one writer, in process): value lists in chunks.</summary>
    private async Task<Dictionary<string, List<string>>> ClaimOnSqliteAsync(DbConnection connection, DbTransaction transaction, List<(string Key, string CustomerId)> claims, List<string> reported)
    {
        foreach (var chunk in claims.Chunk(RowsPerStatement))
        {
            await using var insert = Db.Command(connection, transaction, "");
            insert.Add("s", serviceId);
            var sql = new StringBuilder("INSERT INTO crm_contact_index (service_id, contact_key, customer_id) VALUES ");
            for (var i = 0; i < chunk.Length; i++)
            {
                sql.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"(@s, @k{i}, @c{i})");
                insert.Add($"k{i}", chunk[i].Key);
                insert.Add($"c{i}", chunk[i].CustomerId);
            }

            sql.Append(" ON CONFLICT (service_id, contact_key, customer_id) DO NOTHING");
            insert.CommandText = sql.ToString();
            await insert.ExecuteNonQueryAsync();
        }

        var found = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var chunk in reported.Chunk(RowsPerStatement))
        {
            await using var select = Db.Command(connection, transaction, "");
            select.Add("s", serviceId);
            select.Add("n", ContactIndexLimits.HoldersReported);
            var keys = new StringBuilder();
            for (var i = 0; i < chunk.Length; i++)
            {
                keys.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"@k{i}");
                select.Add($"k{i}", chunk[i]);
            }

            select.CommandText = $"""
                SELECT contact_key, customer_id FROM (
                    SELECT contact_key, customer_id, claim_seq, row_number() OVER (PARTITION BY contact_key ORDER BY claim_seq) AS n
                    FROM crm_contact_index WHERE service_id = @s AND contact_key IN ({keys})) held
                WHERE n <= @n ORDER BY contact_key, claim_seq
                """;
            await ReadHoldersAsync(select, found);
        }

        return found;
    }

    private static async Task ReadHoldersAsync(DbCommand select, Dictionary<string, List<string>> found)
    {
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var key = reader.GetString(0);
            if (!found.TryGetValue(key, out var list))
            {
                found[key] = list = [];
            }

            list.Add(reader.GetString(1));
        }
    }

    /// <summary>A row-value list <c>(@a0, @b0), (@a1, @b1), …</c> for <c>(x, y) IN (…)</c>, its parameters added to
    /// <paramref name="command"/>.</summary>
    private static string PairList(DbCommand command, IReadOnlyList<(string, string)> pairs)
    {
        var list = new StringBuilder();
        for (var i = 0; i < pairs.Count; i++)
        {
            list.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"(@a{i}, @b{i})");
            command.Add($"a{i}", pairs[i].Item1);
            command.Add($"b{i}", pairs[i].Item2);
        }

        return list.ToString();
    }

    /// <summary>The first of the two keys of the index's advisory locks (the two-integer key space PostgreSQL keeps
    /// apart from the one-bigint space the schema migration uses).</summary>
    private const int ContactLockSpace = 0x4352; // "CR"

    /// <summary>A contact point's lock: FNV-1a of its UTF-8 bytes, the same on every silo (string.GetHashCode is not).</summary>
    internal static int LockKey(string key)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return unchecked((int)hash);
    }

    private async Task<List<LogAppend>[]> AppendEventsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<CustomerCommit> commits, DateTimeOffset now)
    {
        var appends = commits.Select(c => new List<LogAppend>(c.Events.Count)).ToArray();
        var rows = commits.SelectMany((c, i) => c.Events.Select(e => (Commit: i, c.CustomerId, c.OriginCustomerId, Event: e))).ToList();
        if (rows.Count == 0)
        {
            return appends;
        }

        var inserted = new Dictionary<(string, string), long>();
        foreach (var chunk in rows.Chunk(RowsPerStatement))
        {
            if (postgres)
            {
                // Arrays instead of a value list: one statement text whatever the batch, so PostgreSQL parses a few
                // hundred bytes instead of eleven parameters per row.
                await using var bulk = Db.Command(connection, transaction, """
                    INSERT INTO crm_customer_events (service_id, customer_id, event_id, type, occurred_at, recorded_at, source, channel, amount, data, origin_customer_id)
                    SELECT @s, c, e, t, at, @r, src, ch, a, CAST(d AS jsonb), o FROM unnest(@c, @e, @t, @at, @src, @ch, @a, @d, @o) AS ev(c, e, t, at, src, ch, a, d, o)
                    ON CONFLICT (service_id, customer_id, event_id) DO NOTHING RETURNING customer_id, event_id, seq
                    """);
                bulk.Add("s", serviceId);
                bulk.Add("r", now.UtcDateTime);
                bulk.Add("c", chunk.Select(r => r.CustomerId).ToArray());
                bulk.Add("e", chunk.Select(r => r.Event.EventId).ToArray());
                bulk.Add("t", chunk.Select(r => r.Event.Type).ToArray());
                bulk.Add("at", chunk.Select(r => r.Event.OccurredAt.UtcDateTime).ToArray());
                bulk.Add("src", chunk.Select(r => r.Event.Source).ToArray());
                bulk.Add("ch", chunk.Select(r => r.Event.Channel).ToArray());
                bulk.Add("a", chunk.Select(r => r.Event.Data.Amount).ToArray());
                bulk.Add("d", chunk.Select(r => JsonSerializer.Serialize(r.Event.Data, AdoNetCustomerLog.Json)).ToArray());
                bulk.Add("o", chunk.Select(r => r.OriginCustomerId).ToArray());
                await using var returned = await bulk.ExecuteReaderAsync();
                while (await returned.ReadAsync())
                {
                    inserted[(returned.GetString(0), returned.GetString(1))] = returned.GetInt64(2);
                }

                continue;
            }

            await using var insert = Db.Command(connection, transaction, "");
            var sql = new StringBuilder("INSERT INTO crm_customer_events (service_id, customer_id, event_id, type, occurred_at, recorded_at, source, channel, amount, data, origin_customer_id) VALUES ");
            insert.Add("s", serviceId);
            insert.Add("r", Db.Time(postgres, now));
            for (var i = 0; i < chunk.Length; i++)
            {
                var (_, customerId, origin, e) = chunk[i];
                sql.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture,
                    $"(@s, @c{i}, @e{i}, @t{i}, @at{i}, @r, @src{i}, @ch{i}, @a{i}, {(postgres ? $"CAST(@d{i} AS jsonb)" : $"@d{i}")}, @o{i})");
                insert.Add($"c{i}", customerId);
                insert.Add($"e{i}", e.EventId);
                insert.Add($"t{i}", e.Type);
                insert.Add($"at{i}", Db.Time(postgres, e.OccurredAt));
                insert.Add($"src{i}", e.Source);
                insert.Add($"ch{i}", e.Channel);
                insert.Add($"a{i}", e.Data.Amount);
                insert.Add($"d{i}", JsonSerializer.Serialize(e.Data, AdoNetCustomerLog.Json));
                insert.Add($"o{i}", origin);
            }

            sql.Append(" ON CONFLICT (service_id, customer_id, event_id) DO NOTHING RETURNING customer_id, event_id, seq");
            insert.CommandText = sql.ToString();
            await using var reader = await insert.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                inserted[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
            }
        }

        // Ids that were already logged (a retry, a replayed merge): their sequence, read in the same transaction.
        var existing = new Dictionary<(string, string), long>();
        var missing = rows.Select(r => (r.CustomerId, r.Event.EventId)).Where(k => !inserted.ContainsKey(k)).Distinct().ToList();
        foreach (var chunk in missing.Chunk(RowsPerStatement))
        {
            await using var select = Db.Command(connection, transaction, "");
            select.Add("s", serviceId);
            select.CommandText = $"SELECT customer_id, event_id, seq FROM crm_customer_events WHERE service_id = @s AND (customer_id, event_id) IN ({PairList(select, chunk)})";
            await using var reader = await select.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                existing[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
            }
        }

        // The first commit of the batch that named an id inserted it; any later one (the same customer twice in a
        // batch) finds it there.
        foreach (var (commit, customerId, _, e) in rows)
        {
            var key = (customerId, e.EventId);
            if (inserted.Remove(key, out var seq))
            {
                existing[key] = seq;
                appends[commit].Add(new LogAppend(e.EventId, seq, Existed: false));
            }
            else if (existing.TryGetValue(key, out var old))
            {
                appends[commit].Add(new LogAppend(e.EventId, old, Existed: true));
            }
            else
            {
                throw new InvalidOperationException($"event '{e.EventId}' of customer '{customerId}' was neither inserted nor found");
            }
        }

        return appends;
    }

    /// <summary>Campaign decisions: inserted unless the key is stored (a retried commit, a second activation), and the
    /// dropped ones deleted.</summary>
    private async Task WriteDecisionsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<CustomerCommit> commits)
    {
        var rows = commits.SelectMany(c => (c.Decisions ?? []).Select(d => (c.CustomerId, Decision: d))).ToList();
        foreach (var chunk in rows.Chunk(RowsPerStatement))
        {
            await using var insert = Db.Command(connection, transaction, "");
            insert.Add("s", serviceId);
            var sql = new StringBuilder("INSERT INTO crm_campaign_decisions (service_id, customer_id, decision_key, decided_at, record) VALUES ");
            for (var i = 0; i < chunk.Length; i++)
            {
                var (customerId, d) = chunk[i];
                sql.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"(@s, @c{i}, @k{i}, @t{i}, @r{i})");
                insert.Add($"c{i}", customerId);
                insert.Add($"k{i}", d.Key);
                insert.Add($"t{i}", Db.Time(postgres, d.DecidedAt));
                insert.Add($"r{i}", d.Record);
            }

            insert.CommandText = sql.Append(" ON CONFLICT (service_id, customer_id, decision_key) DO NOTHING").ToString();
            await insert.ExecuteNonQueryAsync();
        }

        var dropped = commits.SelectMany(c => (c.DecisionsDropped ?? []).Select(k => (c.CustomerId, Key: k))).ToList();
        foreach (var chunk in dropped.Chunk(RowsPerStatement))
        {
            await using var delete = Db.Command(connection, transaction, "");
            delete.Add("s", serviceId);
            delete.CommandText = $"DELETE FROM crm_campaign_decisions WHERE service_id = @s AND (customer_id, decision_key) IN ({PairList(delete, [.. chunk])})";
            await delete.ExecuteNonQueryAsync();
        }
    }

    private async Task<int[]> AddActionsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<CustomerCommit> commits)
    {
        var added = new int[commits.Count];
        var rows = commits.SelectMany((c, i) => (c.Actions ?? []).Select(a => (Commit: i, Action: a))).ToList();
        if (rows.Count == 0)
        {
            return added;
        }

        // Released at once unless the channel has a daily limit; then the capacity planner releases it. PostgreSQL's
        // release order is (transaction id, sequence), read behind the oldest running transaction; SQLite has one
        // writer, so a plain counter orders it (one statement per row, so each sees the last).
        const string Limited = "EXISTS (SELECT 1 FROM crm_channel_limits WHERE service_id = @s AND channel = @ch{0})";
        var chunks = postgres ? rows.Chunk(RowsPerStatement) : rows.Select(r => new[] { r });
        foreach (var chunk in chunks)
        {
            await using var insert = Db.Command(connection, transaction, "");
            insert.Add("s", serviceId);
            var sql = new StringBuilder(
                "INSERT INTO crm_campaign_actions (service_id, idempotency_key, campaign_id, step_id, customer_id, channel, subject, body, html, not_before, created_at, "
                + "delivery_state, attempts, priority, release_tx, release_seq) VALUES ");
            for (var i = 0; i < chunk.Length; i++)
            {
                var a = chunk[i].Action;
                var limited = string.Format(CultureInfo.InvariantCulture, Limited, i);
                var (releaseTx, releaseSeq) = postgres
                    ? ("pg_current_xact_id()::text::bigint", "nextval('crm_campaign_action_release')")
                    : ("0", "(SELECT coalesce(max(release_seq), 0) + 1 FROM crm_campaign_actions WHERE service_id = @s AND release_tx = 0)");
                sql.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture,
                    $"(@s, @k{i}, @c{i}, @st{i}, @cu{i}, @ch{i}, @su{i}, @b{i}, @h{i}, @nb{i}, @ca{i}, 'pending', 0, @p{i}, CASE WHEN {limited} THEN NULL ELSE {releaseTx} END, CASE WHEN {limited} THEN NULL ELSE {releaseSeq} END)");
                insert.Add($"k{i}", a.IdempotencyKey);
                insert.Add($"c{i}", a.CampaignId);
                insert.Add($"st{i}", a.StepId);
                insert.Add($"cu{i}", a.CustomerId);
                insert.Add($"ch{i}", a.Channel);
                insert.Add($"su{i}", a.Subject);
                insert.Add($"b{i}", a.Body);
                insert.Add($"h{i}", postgres ? a.Html : a.Html ? 1 : 0);
                insert.Add($"nb{i}", a.NotBefore is { } notBefore ? Db.Time(postgres, notBefore) : null);
                insert.Add($"ca{i}", Db.Time(postgres, a.CreatedAt));
                insert.Add($"p{i}", a.Priority);
            }

            sql.Append(" ON CONFLICT (service_id, idempotency_key) DO NOTHING RETURNING idempotency_key");
            insert.CommandText = sql.ToString();
            var keys = new HashSet<string>(StringComparer.Ordinal);
            await using (var reader = await insert.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    keys.Add(reader.GetString(0));
                }
            }

            foreach (var (commit, action) in chunk)
            {
                if (keys.Remove(action.IdempotencyKey))
                {
                    added[commit]++;
                }
            }
        }

        return added;
    }

    /// <summary>The gateway's audit records that ride with their customer's rows (the same table and statement as the
    /// access store's appends).</summary>
    private Task AppendAuditAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<CustomerCommit> commits) =>
        AdoNetAccessStore.InsertAuditAsync(connection, transaction, postgres, serviceId, [.. commits.SelectMany(c => c.Audit ?? [])]);

    private async Task<(long?[] Versions, bool[] Conflicts)> WriteSnapshotsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<CustomerCommit> commits, DateTimeOffset now)
    {
        var versions = new long?[commits.Count];
        var conflicts = new bool[commits.Count];
        var pending = commits.Select((c, i) => (Index: i, c.CustomerId, c.Snapshot)).Where(p => p.Snapshot is not null).ToList();

        // An upsert may touch a row once per statement: a customer with two snapshots in the batch (two activations
        // racing) gets a statement per snapshot, so the second is checked against the first's version.
        while (pending.Count > 0)
        {
            var round = pending.DistinctBy(p => p.CustomerId, StringComparer.Ordinal).Take(RowsPerStatement).ToList();
            var taken = round.Select(r => r.Index).ToHashSet();
            pending = [.. pending.Where(p => !taken.Contains(p.Index))];

            // The snapshot stands only if the log holds exactly the rows its state folded above the stored one's
            // sequence (AppliedSince; -1 skips the check): a row another writer logged meanwhile makes it a conflict.
            const string Folded = """
                w.n < 0 OR w.n = (SELECT count(*) FROM crm_customer_events e WHERE e.service_id = @s AND e.customer_id = w.c AND e.seq <= w.q
                    AND e.seq > coalesce((SELECT x.applied_seq FROM crm_customer_state x WHERE x.service_id = @s AND x.customer_id = w.c), 0))
                """;
            const string Upsert = """
                 ON CONFLICT (service_id, customer_id) DO UPDATE
                SET version = excluded.version, applied_seq = excluded.applied_seq, payload = excluded.payload, updated_at = excluded.updated_at
                WHERE crm_customer_state.version = excluded.version - 1
                RETURNING customer_id, version
                """;
            await using var upsert = Db.Command(connection, transaction, "");
            upsert.Add("s", serviceId);
            upsert.Add("t", Db.Time(postgres, now));
            if (postgres)
            {
                upsert.CommandText = $"""
                    INSERT INTO crm_customer_state (service_id, customer_id, version, applied_seq, payload, updated_at)
                    SELECT @s, w.c, w.v, w.q, w.p, @t FROM unnest(@c, @v, @q, @p, @n) AS w(c, v, q, p, n)
                    WHERE {Folded}
                    {Upsert}
                    """;
                upsert.Add("c", round.Select(r => r.CustomerId).ToArray());
                upsert.Add("v", round.Select(r => r.Snapshot!.ExpectedVersion + 1).ToArray());
                upsert.Add("q", round.Select(r => r.Snapshot!.AppliedSequence).ToArray());
                upsert.Add("p", round.Select(r => r.Snapshot!.Payload).ToArray());
                upsert.Add("n", round.Select(r => r.Snapshot!.AppliedSince).ToArray());
            }
            else
            {
                var values = new StringBuilder();
                for (var i = 0; i < round.Count; i++)
                {
                    var snapshot = round[i].Snapshot!;
                    values.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"(@c{i}, @v{i}, @q{i}, @p{i}, @n{i})");
                    upsert.Add($"c{i}", round[i].CustomerId);
                    upsert.Add($"v{i}", snapshot.ExpectedVersion + 1);
                    upsert.Add($"q{i}", snapshot.AppliedSequence);
                    upsert.Add($"p{i}", snapshot.Payload);
                    upsert.Add($"n{i}", snapshot.AppliedSince);
                }

                upsert.CommandText = $"""
                    WITH w(c, v, q, p, n) AS (VALUES {values})
                    INSERT INTO crm_customer_state (service_id, customer_id, version, applied_seq, payload, updated_at)
                    SELECT @s, w.c, w.v, w.q, w.p, @t FROM w
                    WHERE {Folded}
                    {Upsert}
                    """;
            }

            var written = new Dictionary<string, long>(StringComparer.Ordinal);
            await using (var reader = await upsert.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    written[reader.GetString(0)] = reader.GetInt64(1);
                }
            }

            foreach (var (index, customerId, snapshot) in round)
            {
                if (written.TryGetValue(customerId, out var version) && version == snapshot!.ExpectedVersion + 1)
                {
                    versions[index] = version;
                }
                else
                {
                    conflicts[index] = true;
                }
            }
        }

        return (versions, conflicts);
    }

    /// <summary>Whether Orleans' grain storage still holds states of the CRM's grains written before their own tables
    /// existed (<c>crm_customer_state</c>, <c>crm_grain_state</c>); stream subscriptions stay there and do not count.</summary>
    public async Task<bool> HasLegacyStatesAsync(DbConnection connection)
    {
        await using var select = Db.Command(connection, null,
            $"SELECT 1 FROM {(postgres ? "orleansstorage" : "OrleansStorage")} WHERE serviceid = @s AND graintypestring IN ({string.Join(", ", LegacyStateNames.Select(n => $"'{n}'"))}) LIMIT 1");
        select.Add("s", serviceId);
        return await select.ExecuteScalarAsync() is not null;
    }
}
