using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>A CRM process of its own, for imports of the real public data sets.</summary>
public sealed class ImportCrmFixture : IAsyncLifetime
{
    private readonly EmbeddedCrmFixture _inner = new();

    public HttpClient Http => _inner.Http;

    public Uri Gateway => _inner.Gateway;

    public Task InitializeAsync() => _inner.InitializeAsync();

    public Task DisposeAsync() => _inner.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class ImportCrmCollection : ICollectionFixture<ImportCrmFixture>
{
    public const string Name = "Import CRM process";
}

/// <summary>Bulk import through the public import path: counts and sums are conserved, re-runs change nothing.</summary>
[Collection(ImportCrmCollection.Name)]
public sealed class ImportTests(ImportCrmFixture crm)
{
    private Uri Url(string path) => new(crm.Gateway, path);

    private Task<JsonElement> ImportFileAsync(string query, string file) => crm.Http.ImportFileAsync(crm.Gateway, query, file);

    private async Task ForEachCustomerAsync<T>(IEnumerable<KeyValuePair<string, T>> expected, Action<string, T, JsonElement> check)
    {
        await Parallel.ForEachAsync(expected, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (kv, cancellation) =>
        {
            var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{kv.Key}"), cancellation);
            check(kv.Key, kv.Value, view);
        });
    }

    [Fact]
    public async Task The_telco_customer_file_imports_every_customer_with_its_attributes_and_a_rerun_changes_nothing()
    {
        var rows = SharedData.Rows("telco_customer_churn.csv").ToList();
        var header = rows[0];
        var expected = rows.Skip(1).ToDictionary(r => r[0], r => r);

        var first = await ImportFileAsync("customers?mapping=customerId=customerID&attributes=*", "telco_customer_churn.csv");
        var second = await ImportFileAsync("customers?mapping=customerId=customerID&attributes=*", "telco_customer_churn.csv");

        Assert.Equal(7043, expected.Count);
        Assert.Equal((7043, 7043, 0, 0), (first.GetProperty("rowsRead").GetInt32(), first.GetProperty("rowsImported").GetInt32(), first.GetProperty("rowsRejected").GetInt32(), first.GetProperty("rowsDuplicate").GetInt32()));
        Assert.Equal((0, 7043), (second.GetProperty("rowsImported").GetInt32(), second.GetProperty("rowsDuplicate").GetInt32()));
        var monthly = Array.IndexOf(header, "MonthlyCharges");
        var total = Array.IndexOf(header, "TotalCharges");
        var churn = Array.IndexOf(header, "Churn");
        var viewSum = 0m;
        await ForEachCustomerAsync(expected, (id, row, view) =>
        {
            var attributes = view.GetProperty("attributes");
            var charge = decimal.Parse(attributes.GetProperty("MonthlyCharges").GetString()!, CultureInfo.InvariantCulture);
            lock (expected)
            {
                viewSum += charge;
            }

            Assert.Equal(row[monthly], attributes.GetProperty("MonthlyCharges").GetString());
            Assert.Equal(row[total], attributes.GetProperty("TotalCharges").GetString());
            Assert.Equal(row[churn], attributes.GetProperty("Churn").GetString());
            Assert.Equal(1, view.GetProperty("eventCount").GetInt32());
        });
        Assert.Equal(expected.Values.Sum(r => decimal.Parse(r[monthly], CultureInfo.InvariantCulture)), viewSum);
    }

    [Fact]
    public async Task The_cdnow_transaction_log_imports_with_per_customer_counts_and_sums_conserved()
    {
        var rows = SharedData.Rows("cdnow_master.csv").Skip(1).ToList();
        var expected = rows.GroupBy(r => r[0]).ToDictionary(
            g => g.Key,
            g => (Count: g.Count(), Sum: g.Sum(r => decimal.Parse(r[3], CultureInfo.InvariantCulture)), Items: g.Sum(r => int.Parse(r[2], CultureInfo.InvariantCulture))));
        const string Query = "transactions?mapping=customerId=customer_id,occurredAt=date,quantity=number_of_cds,amount=dollar_value&createCustomers=true";

        var first = await ImportFileAsync(Query, "cdnow_master.csv");
        var second = await ImportFileAsync(Query, "cdnow_master.csv");

        Assert.Equal((69659, 23570), (rows.Count, expected.Count));
        Assert.Equal((69659, 69659, 0), (first.GetProperty("rowsRead").GetInt32(), first.GetProperty("rowsImported").GetInt32(), first.GetProperty("rowsRejected").GetInt32()));
        Assert.Equal((0, 69659), (second.GetProperty("rowsImported").GetInt32(), second.GetProperty("rowsDuplicate").GetInt32()));
        var seen = 0;
        await ForEachCustomerAsync(expected, (id, want, view) =>
        {
            var t = view.GetProperty("transactions");
            Assert.Equal(want.Count, t.GetProperty("purchaseCount").GetInt32());
            Assert.Equal(want.Sum, t.GetProperty("purchaseTotal").GetDecimal());
            Assert.Equal(want.Items, t.GetProperty("itemsBought").GetInt32());
            Interlocked.Increment(ref seen);
        });
        Assert.Equal(23570, seen);
        Assert.Equal(rows.Sum(r => decimal.Parse(r[3], CultureInfo.InvariantCulture)), expected.Values.Sum(v => v.Sum));
    }

    [Fact]
    public async Task Customers_stored_straight_in_the_log_are_found_at_once_and_counted_by_segments_defined_before_or_after()
    {
        var run = "bulk" + Guid.NewGuid().ToString("N")[..8];
        async Task<JsonElement> ImportAsync(int from, int count)
        {
            var csv = new StringBuilder("customerId,firstName,lastName,email,region\n");
            for (var i = from; i < from + count; i++)
            {
                csv.Append(CultureInfo.InvariantCulture, $"{run}-{i},Ann{i},Lee,{run}.{i}@example.com,{run}\n");
            }

            using var content = new StringContent(csv.ToString(), Encoding.UTF8, "text/csv");
            using var response = await crm.Http.PostAsync(Url("/api/v1/imports/customers"), content);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }

        async Task<long> MembersAsync() => (await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/segments/{run}"))).GetProperty("members").GetInt64();

        try
        {
            // No segment defined: the customers go straight to the log, and are there for the agent at once.
            var first = await ImportAsync(0, 300);
            Assert.Equal((300, 0), (first.GetProperty("rowsImported").GetInt32(), first.GetProperty("rowsRejected").GetInt32()));
            var found = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/lookup?email={run}.123@EXAMPLE.com"));
            Assert.Equal([$"{run}-123"], found.GetProperty("customerIds").EnumerateArray().Select(e => e.GetString()));
            var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{run}-7"));
            Assert.Equal(("Ann7", run), (view.GetProperty("firstName").GetString(), view.GetProperty("region").GetString()));

            // A segment defined afterwards finds every one of them.
            using (var put = await crm.Http.PutAsJsonAsync(Url($"/api/v1/segments/{run}"), new { name = run, expression = $"""region = "{run}" """ }))
            {
                Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
            }

            await Poll.UntilAsync(async () => await MembersAsync() == 300 ? (object)true : null, TimeSpan.FromSeconds(60), "the 300 imported customers in the segment defined after the import");

            // With a segment defined, new customers are counted as they are imported; a re-run changes nothing.
            var second = await ImportAsync(300, 100);
            Assert.Equal(100, second.GetProperty("rowsImported").GetInt32());
            await Poll.UntilAsync(async () => await MembersAsync() == 400 ? (object)true : null, TimeSpan.FromSeconds(60), "400 members after the second import");
            var again = await ImportAsync(0, 400);
            Assert.Equal((0, 400), (again.GetProperty("rowsImported").GetInt32(), again.GetProperty("rowsDuplicate").GetInt32()));
            Assert.Equal(400, await MembersAsync());
        }
        finally
        {
            // The other imports of this process keep their path without a segment.
            using var deleted = await crm.Http.DeleteAsync(Url($"/api/v1/segments/{run}"));
        }
    }

    [Fact]
    public async Task Bad_rows_are_rejected_with_line_and_reason_and_leave_no_trace()
    {
        var id = "imp-" + Guid.NewGuid().ToString("N")[..8];
        var csv = $"customer_id,date,number_of_cds,dollar_value\n{id},1997-13-01,1,5\n,1997-01-01,1,5\n{id},1997-01-02,x,5\n{id},1997-01-02,1,-5\n{id},1997-01-02,1\n{id},1997-01-03,2,7.50\n";
        using var content = new StringContent(csv, Encoding.UTF8, "text/csv");

        using var response = await crm.Http.PostAsync(Url("/api/v1/imports/transactions?mapping=customerId=customer_id,occurredAt=date,quantity=number_of_cds,amount=dollar_value&createCustomers=true"), content);

        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((6, 1, 5), (result.GetProperty("rowsRead").GetInt32(), result.GetProperty("rowsImported").GetInt32(), result.GetProperty("rowsRejected").GetInt32()));
        var rejects = result.GetProperty("rejects").EnumerateArray().Select(r => (r.GetProperty("line").GetInt32(), r.GetProperty("field").GetString())).ToList();
        Assert.Equal([(2, "occurredAt"), (3, "customerId"), (4, "quantity"), (5, "amount"), (6, "row")], rejects);
        var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}"));
        Assert.Equal(7.50m, view.GetProperty("transactions").GetProperty("purchaseTotal").GetDecimal());
        Assert.Equal(1, view.GetProperty("eventCount").GetInt32());
    }

    [Fact]
    public async Task Events_import_from_ndjson_streams_each_line_and_a_rerun_changes_nothing()
    {
        var id = "impev-" + Guid.NewGuid().ToString("N")[..8];
        var when = DateTimeOffset.UtcNow.AddDays(-3).ToString("O");
        var ndjson = string.Join('\n',
            $$"""{"customerId":"{{id}}","eventId":"k1","type":"complaint.opened","occurredAt":"{{when}}","channel":"phone","data":{"caseId":"c1","subject":"Late delivery"} }""",
            $$"""{"customerId":"{{id}}","eventId":"d1","type":"deposit","occurredAt":"{{when}}","data":{"amount":250.5} }""",
            """{"customerId":"x","type":"deposit", """,
            $$"""{"customerId":"{{id}}","eventId":"m1","type":"consent.changed","occurredAt":"{{when}}","channel":"sms","data":{"purpose":"marketing","granted":true} }""");
        const string Query = "events?createCustomers=true";

        async Task<JsonElement> ImportAsync()
        {
            using var content = new StringContent(ndjson, Encoding.UTF8, "application/x-ndjson");
            using var response = await crm.Http.PostAsync(Url("/api/v1/imports/" + Query), content);
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }

        var first = await ImportAsync();
        var second = await ImportAsync();

        Assert.Equal((4, 3, 1), (first.GetProperty("rowsRead").GetInt32(), first.GetProperty("rowsImported").GetInt32(), first.GetProperty("rowsRejected").GetInt32()));
        Assert.Equal(3, first.GetProperty("rejects")[0].GetProperty("line").GetInt32());
        Assert.Equal((0, 3), (second.GetProperty("rowsImported").GetInt32(), second.GetProperty("rowsDuplicate").GetInt32()));
        var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{id}"));
        Assert.Equal(250.5m, view.GetProperty("transactions").GetProperty("depositTotal").GetDecimal());
        Assert.Equal("Late delivery", view.GetProperty("openCases")[0].GetProperty("subject").GetString());
        Assert.True(view.GetProperty("consents")[0].GetProperty("granted").GetBoolean());
    }

    [Fact]
    public async Task A_transactions_import_takes_the_registry_s_transaction_types_and_refuses_any_other()
    {
        foreach (var type in OrleansCrm.Customers.CustomerEventTypes.TransactionImportTypes)
        {
            var id = "imp-" + Guid.NewGuid().ToString("N")[..8];
            using var content = new StringContent($"customerId,amount,occurredAt\n{id},5,2026-01-02\n", Encoding.UTF8, "text/csv");

            using var response = await crm.Http.PostAsync(Url($"/api/v1/imports/transactions?type={type}&createCustomers=true"), content);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var result = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(1, result.GetProperty("rowsImported").GetInt32());
        }

        using var visit = new StringContent("customerId,amount,occurredAt\nimp-x,5,2026-01-02\n", Encoding.UTF8, "text/csv");
        using var refused = await crm.Http.PostAsync(Url("/api/v1/imports/transactions?type=web.visit"), visit);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("must be purchase, deposit, withdrawal, payment.due or payment.paid", problem.GetProperty("errors").GetProperty("type")[0].GetString());

        var mixed = "imp-" + Guid.NewGuid().ToString("N")[..8];
        using var rows = new StringContent($"customerId,type,amount,occurredAt\n{mixed},call.inbound,5,2026-01-02\n{mixed},deposit,7,2026-01-03\n", Encoding.UTF8, "text/csv");
        using var imported = await crm.Http.PostAsync(Url("/api/v1/imports/transactions?createCustomers=true"), rows);
        var outcome = await imported.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, outcome.GetProperty("rowsImported").GetInt32());
        var reject = Assert.Single(outcome.GetProperty("rejects").EnumerateArray());
        Assert.Equal((2, "type"), (reject.GetProperty("line").GetInt32(), reject.GetProperty("field").GetString()));
        var view = await crm.Http.GetFromJsonAsync<JsonElement>(Url($"/api/v1/customers/{mixed}"));
        Assert.Equal(7m, view.GetProperty("transactions").GetProperty("depositTotal").GetDecimal());
        Assert.Empty(view.GetProperty("recentContacts").EnumerateArray());
    }

    [Theory]
    [InlineData("people?mapping=customerId=id", "text/csv", "kind")]
    [InlineData("transactions?mapping=custId", "text/csv", "mapping")]
    [InlineData("transactions?mapping=customerId=nope", "text/csv", "mapping")]
    [InlineData("transactions?mapping=customerId=customer_id", "application/xml", "Content-Type")]
    public async Task A_bad_import_request_is_a_400_naming_the_problem(string query, string mediaType, string field)
    {
        using var content = new StringContent("customer_id,amount,occurredAt\n", Encoding.UTF8, mediaType);

        using var response = await crm.Http.PostAsync(Url("/api/v1/imports/" + query), content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
    }
}
