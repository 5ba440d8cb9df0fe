using System.Data.Common;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Npgsql;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>
/// Erasing a customer, as a privacy manager does it through the gateway, on both databases: afterwards no table of
/// the database holds any of the customer's personal values (nor those of a customer merged into it), while its
/// id and aggregates remain. Each test runs its own processes, so the database holds only what the test wrote.
/// </summary>
public sealed class PrivacyTests
{
    [Fact]
    public async Task Erasing_a_customer_on_sqlite_leaves_no_personal_value_in_any_table_and_keeps_its_aggregates()
    {
        var folder = Directory.CreateTempSubdirectory("crm-privacy-").FullName;
        var file = Path.Combine(folder, "data", "crm.db");
        using var http = TestAuth.AdminClient(TimeSpan.FromMinutes(2));
        try
        {
            await using (var crm = CrmProcess.Start(Repo.SiloDll, folder, TestConfig.Sqlite(file, Ports.Free(), Ports.Free(), Ports.Free()), "crm"))
            {
                await crm.WaitReadyAsync(http, TimeSpan.FromSeconds(90));
                await EraseAndSearchAsync(http, crm.Http!, secrets => SearchSqliteAsync($"Data Source={file}", secrets));
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Erasing_a_customer_on_postgres_leaves_no_personal_value_in_any_table_and_keeps_its_aggregates()
    {
        await using var pg = TestPostgres.Reserve();
        using var http = TestAuth.AdminClient(TimeSpan.FromMinutes(2));
        await using var cluster = await ProcessCluster.StartAsync(pg, http, silos: 1, "privacy");
        await EraseAndSearchAsync(http, cluster.Http, secrets => SearchPostgresAsync(pg.ConnectionString, secrets));
    }

    [Fact]
    public async Task Erasing_an_unknown_customer_is_a_404_and_a_long_reason_is_refused_naming_the_field()
    {
        var folder = Directory.CreateTempSubdirectory("crm-privacy-").FullName;
        using var http = TestAuth.AdminClient(TimeSpan.FromMinutes(2));
        try
        {
            await using var crm = CrmProcess.Start(Repo.SiloDll, folder, TestConfig.Sqlite(Path.Combine(folder, "data", "crm.db"), Ports.Free(), Ports.Free(), Ports.Free()), "crm");
            await crm.WaitReadyAsync(http, TimeSpan.FromSeconds(90));
            using var unknown = await http.PostAsync(new Uri(crm.Http!, "/api/v1/customers/nobody-here/erase"), null);
            using var export = await http.GetAsync(new Uri(crm.Http!, "/api/v1/customers/nobody-here/export"));
            using var longReason = await http.PostAsJsonAsync(new Uri(crm.Http!, "/api/v1/customers/nobody-here/erase"), new { reason = new string('r', 501) });

            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, export.StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, longReason.StatusCode);
            Assert.True((await longReason.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("reason", out _));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The whole scenario against one gateway; <paramref name="search"/> answers where in the database each
    /// given value occurs ("table.column: value").</summary>
    private static async Task EraseAndSearchAsync(HttpClient http, Uri gateway, Func<IReadOnlyList<string>, Task<List<string>>> search)
    {
        var run = "pv" + Guid.NewGuid().ToString("N")[..8];
        var (a, b) = ($"{run}-a", $"{run}-b");
        var digits = string.Concat(Guid.NewGuid().ToByteArray().Take(8).Select(x => (char)('0' + (x % 10))));
        var phoneB = string.Concat(Guid.NewGuid().ToByteArray().Take(8).Select(x => (char)('0' + (x % 10))));
        var secrets = new Dictionary<string, string>
        {
            ["first name"] = $"Quillonette{run}",
            ["last name"] = $"Vexmarrow{run}",
            ["e-mail"] = $"zq.{run}@privacy-test.example",
            ["phone"] = $"+316{digits}",
            ["address"] = $"Zonnewijzerpad {run}",
            ["city"] = $"Brakkeveld{run}",
            ["attribute"] = $"kitesurfing-{run}",
            ["external id"] = $"LX-{run}",
            ["contact note"] = $"asked about the blue tractor {run}",
            ["call subject"] = $"hearing aid battery {run}",
            ["case subject"] = $"leaking roof at Zonnewijzerpad {run}",
            ["reference"] = $"INV-{run}",
            ["merged first name"] = $"Brindlewick{run}",
            ["merged e-mail"] = $"bw.{run}@privacy-test.example",
            ["merged phone"] = $"+316{phoneB}",
            ["merged note"] = $"prefers visits on Tuesday {run}",
        };
        Uri Url(string path) => new(gateway, path);
        async Task OkAsync(Task<HttpResponseMessage> call, string what)
        {
            using var response = await call;
            Assert.True(response.IsSuccessStatusCode, $"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        Task EventAsync(string customer, object e) => OkAsync(http.PostAsJsonAsync(Url($"/api/v1/customers/{customer}/events"), e), $"event for {customer}");
        var when = DateTimeOffset.UtcNow.AddMinutes(-5);

        // The customer, with a value in every kind of personal field, a transaction, a contact, a case and consent.
        await OkAsync(http.PutCustomerAsync(gateway, a, new
        {
            firstName = secrets["first name"],
            lastName = secrets["last name"],
            email = secrets["e-mail"],
            phone = secrets["phone"],
            birthDate = "1961-07-23",
            address = new { line1 = secrets["address"], city = secrets["city"], postalCode = "9999 ZZ", country = "NL" },
            attributes = new Dictionary<string, string> { ["hobby"] = secrets["attribute"] },
            externalIds = new Dictionary<string, string> { ["loyalty"] = secrets["external id"] },
            tags = new[] { run },
        }), "profile");
        // Sent with an Idempotency-Key: its answer (the view, with every personal value above) is kept for replays.
        var purchase = new { eventId = "buy-1", type = "purchase", occurredAt = when, channel = "web", data = new { amount = 123.45m, productId = "sku-1", reference = secrets["reference"] } };
        HttpRequestMessage Keyed() => new(HttpMethod.Post, Url($"/api/v1/customers/{a}/events")) { Content = JsonContent.Create(purchase), Headers = { { "Idempotency-Key", $"{run}-purchase" } } };
        await OkAsync(http.SendAsync(Keyed()), "keyed purchase");
        using (var replay = await http.SendAsync(Keyed()))
        {
            Assert.True(replay.Headers.Contains("Idempotent-Replayed"), "the kept answer is replayed before the erasure");
            Assert.Contains(secrets["first name"], await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await EventAsync(a, new { eventId = "visit-1", type = "web.visit", occurredAt = when, channel = "web", data = new { note = secrets["contact note"] } });
        await EventAsync(a, new { eventId = "call-1", type = "call.inbound", occurredAt = when, channel = "phone", data = new { agent = "a-1", subject = secrets["call subject"] } });
        await EventAsync(a, new { eventId = "case-1", type = "complaint.opened", occurredAt = when, channel = "phone", data = new { caseId = "c-1", subject = secrets["case subject"] } });
        await EventAsync(a, new { eventId = "consent-1", type = "consent.changed", occurredAt = when, channel = "email", data = new { purpose = "marketing", granted = true } });

        // A segment it is in, and a campaign that emits an action whose message names it.
        await OkAsync(http.PutAsJsonAsync(Url($"/api/v1/segments/{run}"), new { name = run, expression = $"""tags contains "{run}" """ }), "segment");
        await Poll.UntilAsync(async () => (await http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/segments/{run}"))).GetProperty("members").GetInt64() == 1, TimeSpan.FromSeconds(60), "the customer in the segment");
        await OkAsync(http.PutAsJsonAsync(Url($"/api/v1/campaigns/{run}"), new
        {
            name = "Privacy",
            type = "single",
            segments = new[] { run },
            channels = new[] { "email" },
            templates = new Dictionary<string, object> { ["email"] = new { subject = "For {{ customer.firstName }}", body = "Dear {{ customer.firstName }} {{ customer.lastName }}" } },
            policy = new { quietFromHour = 0, quietToHour = 0 },
        }), "campaign");
        await OkAsync(http.PostAsync(Url($"/api/v1/campaigns/{run}/launch"), null), "launch");
        await Poll.UntilAsync(async () => (await http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/campaigns/{run}"))).GetProperty("state").GetString() == "completed", TimeSpan.FromSeconds(60), "the campaign to complete");
        var feed = await http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/actions?campaignId={run}&limit=10"));
        Assert.Contains(secrets["first name"], feed.GetProperty("actions")[0].GetProperty("body").GetString(), StringComparison.Ordinal);

        // Another customer with values of its own, merged into the first.
        await OkAsync(http.PutCustomerAsync(gateway, b, new { firstName = secrets["merged first name"], email = secrets["merged e-mail"], phone = secrets["merged phone"] }), "profile b");
        await EventAsync(b, new { eventId = "visit-b", type = "web.visit", occurredAt = when, channel = "web", data = new { note = secrets["merged note"] } });
        await OkAsync(http.PostAsJsonAsync(Url($"/api/v1/customers/{a}/merge"), new { otherCustomerId = b }), "merge");

        // Before: the export and the database hold every value (which also shows the search can see them).
        var before = await ExportTextAsync(http, Url($"/api/v1/customers/{a}/export"));
        Assert.All(new[] { "first name", "e-mail", "contact note", "case subject", "merged first name", "merged note" }, k => Assert.Contains(secrets[k], before, StringComparison.OrdinalIgnoreCase));
        var exported = JsonDocument.Parse(before).RootElement;
        // Every read and change of this customer so far is in its audit trail, by whom and through which endpoint.
        Assert.Contains(exported.GetProperty("audit").EnumerateArray(), r => r.GetProperty("entry").GetProperty("action").GetString() == "UpsertCustomer");
        Assert.Contains(exported.GetProperty("audit").EnumerateArray(), r => r.GetProperty("entry").GetProperty("action").GetString() == "MergeCustomers");
        Assert.Contains(exported.GetProperty("segmentMemberships").EnumerateArray(), m => m.GetProperty("segmentId").GetString() == run && m.GetProperty("member").GetBoolean());
        Assert.Single(exported.GetProperty("campaignActions").EnumerateArray());
        Assert.Equal(b, Assert.Single(exported.GetProperty("mergedCustomerIds").EnumerateArray()).GetString());
        var stored = await search([.. secrets.Values]);
        Assert.All(secrets, s => Assert.Contains(stored, hit => hit.EndsWith(": " + s.Value, StringComparison.Ordinal)));

        // Erase, twice: the repeat answers the same report.
        using var erase = await http.PostAsJsonAsync(Url($"/api/v1/customers/{a}/erase"), new { reason = "request 42" });
        var report = await erase.Content.ReadAsStringAsync();
        using var again = await http.PostAsync(Url($"/api/v1/customers/{b}/erase"), null);
        Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
        Assert.Equal(report, await again.Content.ReadAsStringAsync());
        var r = JsonDocument.Parse(report).RootElement;
        Assert.Equal(a, r.GetProperty("customerId").GetString());
        Assert.True(r.GetProperty("logRowsRedacted").GetInt32() >= 8, report);
        // The first customer's e-mail, phone, external id, full name and last name; the merged one's e-mail, phone and name.
        Assert.Equal(8, r.GetProperty("contactPointsReleased").GetInt32());
        Assert.Equal(1, r.GetProperty("segmentsLeft").GetInt32());
        Assert.Equal(1, r.GetProperty("actionsBlanked").GetInt32());
        Assert.True(r.GetProperty("keptAnswersForgotten").GetInt32() >= 1, report);

        // A replay of the kept answer's key after the erasure runs as a new request (refused: the customer takes no
        // events) and returns nothing of the person.
        using (var replay = await http.SendAsync(Keyed()))
        {
            var text = await replay.Content.ReadAsStringAsync();
            Assert.False(replay.Headers.Contains("Idempotent-Replayed"), text);
            Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
            Assert.All(secrets.Values, v => Assert.DoesNotContain(v, text, StringComparison.OrdinalIgnoreCase));
        }

        // After: the view keeps the id and aggregates, lookups find nobody, the segment dropped it, no event is
        // accepted, and neither the export nor any table holds a personal value.
        var view = await http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{a}"));
        Assert.True(view.GetProperty("erased").GetBoolean());
        Assert.Equal(JsonValueKind.String, view.GetProperty("erasedAt").ValueKind);
        Assert.Equal(JsonValueKind.Null, view.GetProperty("firstName").ValueKind);
        Assert.Equal(0, view.GetProperty("emails").GetArrayLength());
        Assert.Equal(123.45m, view.GetProperty("transactions").GetProperty("purchaseTotal").GetDecimal());
        Assert.All(view.GetProperty("consents").EnumerateArray(), c => Assert.False(c.GetProperty("granted").GetBoolean()));
        foreach (var (kind, value) in new[] { ("email", secrets["e-mail"]), ("phone", secrets["phone"]), ("email", secrets["merged e-mail"]), ("ext", "loyalty:" + secrets["external id"]) })
        {
            var found = await http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/lookup?{kind}={Uri.EscapeDataString(value)}"));
            Assert.Equal(0, found.GetProperty("customerIds").GetArrayLength());
        }

        await Poll.UntilAsync(async () => (await http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/segments/{run}"))).GetProperty("members").GetInt64() == 0, TimeSpan.FromSeconds(30), "the segment to drop the customer");
        using var resurrect = await http.PutCustomerAsync(gateway, a, new { firstName = secrets["first name"] });
        using var viaMerged = await http.PostAsJsonAsync(Url($"/api/v1/customers/{b}/events"), new { eventId = "late", type = "web.visit", occurredAt = DateTimeOffset.UtcNow, channel = "web" });
        Assert.Equal(HttpStatusCode.BadRequest, resurrect.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, viaMerged.StatusCode);

        var after = await ExportTextAsync(http, Url($"/api/v1/customers/{a}/export"));
        Assert.All(secrets.Values, s => Assert.DoesNotContain(s, after, StringComparison.OrdinalIgnoreCase));
        Assert.Contains(JsonDocument.Parse(after).RootElement.GetProperty("history").EnumerateArray(), h => h.GetProperty("type").GetString() == "purchase" && h.GetProperty("data").GetProperty("amount").GetDecimal() == 123.45m);
        Assert.Empty(await search([.. secrets.Values]));
    }

    private static async Task<string> ExportTextAsync(HttpClient http, Uri url)
    {
        using var response = await http.GetAsync(url);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return text;
    }

    private static async Task<List<string>> SearchSqliteAsync(string connectionString, IReadOnlyList<string> values)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new SqliteCommand("SELECT name FROM sqlite_master WHERE type = 'table'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        Assert.Contains("crm_customer_events", tables);
        var hits = new List<string>();
        foreach (var table in tables)
        {
            await using var select = new SqliteCommand($"SELECT * FROM \"{table}\"", connection);
            hits.AddRange(await SearchRowsAsync(table, select, values));
        }

        return hits;
    }

    private static async Task<List<string>> SearchPostgresAsync(string connectionString, IReadOnlyList<string> values)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add($"\"{reader.GetString(0)}\".\"{reader.GetString(1)}\"");
            }
        }

        Assert.Contains("\"public\".\"crm_customer_events\"", tables);
        var hits = new List<string>();
        foreach (var table in tables)
        {
            // Every column as text, so jsonb, arrays and other types are searched as PostgreSQL prints them; bytea
            // columns are read as bytes.
            await using var select = new NpgsqlCommand($"SELECT * FROM {table}", connection);
            hits.AddRange(await SearchRowsAsync(table, select, values));
        }

        return hits;
    }

    private static IEnumerable<string> Base64Runs(string text)
    {
        foreach (System.Text.RegularExpressions.Match run in System.Text.RegularExpressions.Regex.Matches(text, "[A-Za-z0-9+/]{16,}={0,2}"))
        {
            var padded = run.Value.TrimEnd('=');
            padded = padded[..(padded.Length / 4 * 4)];
            for (var shift = 0; shift < 4 && shift < padded.Length; shift++)
            {
                // The run may start mid-group when it follows other base64-looking text: try each alignment.
                var part = padded[shift..];
                part = part[..(part.Length / 4 * 4)];
                var buffer = new byte[part.Length];
                if (Convert.TryFromBase64String(part, buffer, out var written))
                {
                    yield return Encoding.UTF8.GetString(buffer, 0, written);
                }
            }
        }
    }

    /// <summary>Each column of each row: text as it is, bytes (Orleans' serialized grain state) as UTF-8 and UTF-16,
    /// anything else as its invariant text.</summary>
    private static async Task<List<string>> SearchRowsAsync(string table, DbCommand select, IReadOnlyList<string> values)
    {
        var hits = new List<string>();
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            for (var i = 0; i < reader.FieldCount; i++)
            {
                if (reader.IsDBNull(i))
                {
                    continue;
                }

                var value = reader.GetValue(i);
                string[] texts = value switch
                {
                    byte[] bytes => [Encoding.UTF8.GetString(bytes), Encoding.Unicode.GetString(bytes), Encoding.Unicode.GetString(bytes.Skip(1).ToArray())],
                    string s => [s],
                    _ => [Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""],
                };

                // Decoded too: a value kept as base64 (a kept answer's body in a JSON state) is still the value.
                texts = [.. texts, .. texts.SelectMany(Base64Runs)];
                foreach (var secret in values.Where(v => texts.Any(t => t.Contains(v, StringComparison.OrdinalIgnoreCase))))
                {
                    hits.Add($"{table}.{reader.GetName(i)}: {secret}");
                }
            }
        }

        return hits;
    }
}
