using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OrleansCrm.Access;
using OrleansCrm.Gateway.Access;
using OrleansCrm.Gateway.BulkImport;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Access;

/// <summary>
/// Every role × every endpoint × four organisation units (the resources' own unit, its parent, a sibling, and the
/// whole organisation), plus no credentials at all: each cell the policy forbids is refused (401, 403, or 404 for a
/// customer, segment or campaign of another unit) and leaves an audit record; each cell it admits is not refused.
/// </summary>
public sealed class AccessMatrixTests(AccessCrmFixture crm) : IClassFixture<AccessCrmFixture>
{
    private const string Own = "nl/north";
    private const string Parent = "nl";
    private const string Sibling = "nl/south";
    private const string Root = "";
    private static readonly string[] Units = [Own, Parent, Sibling, Root];

    /// <summary>A request that reaches each endpoint: bodies are valid JSON the handler refuses (400) where the
    /// endpoint would otherwise change something a later cell relies on. {cell} is replaced per caller.</summary>
    private static readonly Dictionary<string, (string Method, string Path, string? Body)> Requests = new(StringComparer.Ordinal)
    {
        ["WhoAmI"] = ("GET", "/api/v1/auth/me", null),
        ["EndSession"] = ("DELETE", "/api/v1/auth/session", null),
        ["GetCustomer"] = ("GET", "/api/v1/customers/m-cust", null),
        ["CustomerLive"] = ("GET", "/api/v1/customers/m-cust/live", null),
        ["UpsertCustomer"] = ("PUT", "/api/v1/customers/m-cust", "{}"),
        ["PostCustomerEvent"] = ("POST", "/api/v1/customers/m-cust/events", "{}"),
        ["GetCustomerHistory"] = ("GET", "/api/v1/customers/m-cust/history", null),
        ["GetNextBestActions"] = ("GET", "/api/v1/customers/m-cust/next-best-actions", null),
        ["MergeCustomers"] = ("POST", "/api/v1/customers/m-cust/merge", "{\"otherCustomerId\":\"\"}"),
        ["RecordOfferOutcome"] = ("POST", "/api/v1/customers/m-cust/offers/none/outcome", "{}"),
        ["LookupCustomer"] = ("GET", "/api/v1/lookup?email=m-cust%40example.com", null),
        ["PostEventBatch"] = ("POST", "/api/v1/events", ""),
        ["ImportCustomers"] = ("POST", "/api/v1/imports/customers?mapping=nothing", ""),
        ["ImportTransactions"] = ("POST", "/api/v1/imports/transactions?mapping=nothing", ""),
        ["ImportEvents"] = ("POST", "/api/v1/imports/events?mapping=nothing", ""),
        ["ImportUnknownKind"] = ("POST", "/api/v1/imports/nothing", ""),
        ["GetImport"] = ("GET", "/api/v1/imports/none", null),
        ["ExportCustomer"] = ("GET", "/api/v1/customers/m-cust/export", null),
        ["EraseCustomer"] = ("POST", "/api/v1/customers/m-cust/erase", "{\"reason\":\"" + new string('x', 501) + "\"}"),
        ["ListRules"] = ("GET", "/api/v1/rules", null),
        ["PutRule"] = ("PUT", "/api/v1/rules/m-rule", "{}"),
        ["DisableRule"] = ("POST", "/api/v1/rules/none/disable", null),
        ["EnableRule"] = ("POST", "/api/v1/rules/none/enable", null),
        ["ListOffers"] = ("GET", "/api/v1/offers", null),
        ["PutOffer"] = ("PUT", "/api/v1/offers/m-offer", "{}"),
        ["ModelStatus"] = ("GET", "/api/v1/models", null),
        ["PutModels"] = ("PUT", "/api/v1/models", "{}"),
        ["TrainModel"] = ("POST", "/api/v1/models/train", "{}"),
        ["RefreshRfm"] = ("POST", "/api/v1/models/rfm/refresh", null),
        ["ListSegments"] = ("GET", "/api/v1/segments", null),
        ["PreviewSegment"] = ("POST", "/api/v1/segments/preview", "{}"),
        ["PutSegment"] = ("PUT", "/api/v1/segments/m-seg", "{}"),
        ["DeleteSegment"] = ("DELETE", "/api/v1/segments/del-{cell}", null),
        ["GetSegment"] = ("GET", "/api/v1/segments/m-seg", null),
        ["SegmentMembers"] = ("GET", "/api/v1/segments/m-seg/members", null),
        ["SegmentStatistics"] = ("GET", "/api/v1/segments/m-seg/statistics", null),
        ["ExportSegment"] = ("GET", "/api/v1/segments/m-seg/export", null),
        ["ListCampaigns"] = ("GET", "/api/v1/campaigns", null),
        ["PutCampaign"] = ("PUT", "/api/v1/campaigns/m-camp", "{}"),
        ["GetCampaign"] = ("GET", "/api/v1/campaigns/m-camp", null),
        ["CampaignResults"] = ("GET", "/api/v1/campaigns/m-camp/results", null),
        ["CampaignLaunch"] = ("POST", "/api/v1/campaigns/m-camp/launch", null),
        ["CampaignPause"] = ("POST", "/api/v1/campaigns/m-camp/pause", null),
        ["CampaignResume"] = ("POST", "/api/v1/campaigns/m-camp/resume", null),
        ["CampaignCancel"] = ("POST", "/api/v1/campaigns/m-camp-cancel/cancel", null),
        ["PutProspects"] = ("PUT", "/api/v1/campaigns/m-camp/prospects", ""),
        ["PutWebhook"] = ("PUT", "/api/v1/webhook", "{}"),
        ["ActionFeed"] = ("GET", "/api/v1/actions", null),
        ["GetCapacity"] = ("GET", "/api/v1/capacity", null),
        ["PutCapacity"] = ("PUT", "/api/v1/capacity", "{\"channels\":{\"phone\":-1}}"),
        ["PlanCapacity"] = ("POST", "/api/v1/capacity/plan", null),
        ["CallList"] = ("GET", "/api/v1/agents/a1/calls", null),
        ["CallDone"] = ("POST", "/api/v1/agents/a1/calls/1/done", null),
        ["ListUsers"] = ("GET", "/api/v1/users", null),
        ["CreateUser"] = ("POST", "/api/v1/users", "{}"),
        ["ChangeUser"] = ("PUT", "/api/v1/users/nobody", "{\"roles\":[\"none\"]}"),
        ["ListApiKeys"] = ("GET", "/api/v1/api-keys", null),
        ["CreateApiKey"] = ("POST", "/api/v1/api-keys", "{}"),
        ["RevokeApiKey"] = ("DELETE", "/api/v1/api-keys/000000000000", null),
        ["RotateSigningKey"] = ("POST", "/api/v1/signing-key/rotate", null),
        ["QueryAudit"] = ("GET", "/api/v1/audit?limit=1", null),
    };

    [Fact]
    public void Every_endpoint_with_a_policy_is_in_the_matrix()
    {
        Assert.Equal(EndpointPolicies.Table.Keys.Order(StringComparer.Ordinal), Requests.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Every_endpoint_of_the_API_has_a_policy()
    {
        using var response = await crm.Admin.GetAsync(new Uri(crm.Gateway, "/openapi/v1.json"));
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var operations = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Where(op => op.Value.ValueKind == JsonValueKind.Object && op.Value.TryGetProperty("operationId", out _))
                .Select(op => op.Value.GetProperty("operationId").GetString()!))
            .Where(id => id is not (AccessEndpoints.IssueToken or AccessEndpoints.StartSession))
            .ToHashSet(StringComparer.Ordinal);
        Assert.Empty(operations.Except(EndpointPolicies.Table.Keys));
        // Every policy's endpoint is described, but the one that only answers an unknown import kind with a 400.
        Assert.Equal([ImportEndpoints.ImportUnknownKind], EndpointPolicies.Table.Keys.Except(operations));
    }

    [Fact]
    public async Task Each_forbidden_cell_is_refused_and_audited_and_each_admitted_cell_is_served()
    {
        // The resources every cell reaches for, all of unit nl/north.
        var (_, ownManager) = await crm.CreateKeyAsync("setup", Own, Roles.CampaignManager);
        using var manager = crm.KeyClient(ownManager);
        using (var put = await crm.Admin.PutAsJsonAsync(new Uri(crm.Gateway, "/api/v1/customers/m-cust"), new { firstName = "Matrix", email = "m-cust@example.com", orgUnit = Own }))
        {
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        }

        await PutAsync(manager, "/api/v1/segments/m-seg", new { name = "matrix", expression = "tags contains \"nobody\"" });
        var campaign = new { name = "matrix", type = "single", segments = new[] { "m-seg" }, channels = new[] { "email" }, templates = new Dictionary<string, object> { ["email"] = new { subject = "Hi", body = "Hello" } } };
        await PutAsync(manager, "/api/v1/campaigns/m-camp", campaign);
        await PutAsync(manager, "/api/v1/campaigns/m-camp-cancel", campaign);

        var cells = new List<Cell>();
        foreach (var role in Roles.All)
        {
            foreach (var unit in Units)
            {
                var cell = $"{role}-{(unit.Length == 0 ? "root" : unit.Replace('/', '-'))}".ToLowerInvariant();
                var (id, secret) = await crm.CreateKeyAsync(cell, unit, role);
                await PutAsync(manager, $"/api/v1/segments/del-{cell}", new { name = cell, expression = "tags contains \"nobody\"" });
                cells.Add(new Cell(cell, role, unit, "key:" + id, secret));
            }
        }

        var failures = new List<string>();
        var refusals = new List<(string Actor, string Endpoint, int Status)>();
        using var anonymous = new HttpClient { BaseAddress = crm.Gateway, Timeout = TimeSpan.FromMinutes(1) };
        foreach (var (name, policy) in EndpointPolicies.Table)
        {
            var status = await SendAsync(anonymous, name, "anonymous");
            if (status != 401)
            {
                failures.Add($"{name} without credentials: {status}, expected 401");
            }

            refusals.Add(("anonymous", name, 401));
            foreach (var cell in cells)
            {
                using var client = crm.KeyClient(cell.Secret);
                status = await SendAsync(client, name, cell.Name);
                var expected = Expected(policy, cell.Role, cell.Unit);
                if (expected is { } refusal)
                {
                    if (status != refusal)
                    {
                        failures.Add($"{name} as {cell.Name}: {status}, expected {refusal}");
                    }

                    refusals.Add((cell.Actor, name, refusal));
                }
                else if (status is 401 or 403 || (status == 404 && policy.Scope is Scope.Customer or Scope.Segment or Scope.Campaign))
                {
                    failures.Add($"{name} as {cell.Name}: refused with {status}, expected to be served");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));

        var audited = (await crm.AuditAsync())
            .Select(r => (r.GetProperty("entry").GetProperty("actor").GetString()!, r.GetProperty("entry").GetProperty("action").GetString()!, r.GetProperty("entry").GetProperty("status").GetInt32()))
            .ToHashSet();
        var unaudited = refusals.Where(r => !audited.Contains(r)).Select(r => $"{r.Endpoint} as {r.Actor} ({r.Status})").ToList();
        Assert.True(unaudited.Count == 0, "refusals with no audit record: " + string.Join(", ", unaudited));
        Assert.True(refusals.Count > 500, $"only {refusals.Count} forbidden cells: the matrix is thinner than the policy table suggests");
    }

    [Fact]
    public async Task A_change_is_answered_after_its_single_audit_record_is_stored_and_a_failed_one_is_recorded_as_failed()
    {
        var id = "audit-" + Guid.NewGuid().ToString("N")[..8];
        var (keyId, secret) = await crm.CreateKeyAsync("audit integrator", "", Roles.Integrator);
        using var integrator = crm.KeyClient(secret);
        Assert.Equal(HttpStatusCode.OK, (await integrator.PutAsJsonAsync($"/api/v1/customers/{id}", new { firstName = "Ida" })).StatusCode);
        var purchase = new { eventId = "e1", type = "purchase", occurredAt = DateTimeOffset.UtcNow.AddMinutes(-1), data = new { amount = 5.0 } };
        Assert.Equal(HttpStatusCode.OK, (await integrator.PostAsJsonAsync($"/api/v1/customers/{id}/events", purchase)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await integrator.PostAsJsonAsync($"/api/v1/customers/{id}-missing/events", purchase)).StatusCode);

        // No polling: a change's record is durable before its answer leaves, and there is exactly one per request.
        (string, int, string) Row(JsonElement r) => (r.GetProperty("entry").GetProperty("action").GetString()!, r.GetProperty("entry").GetProperty("status").GetInt32(),
            r.GetProperty("entry").GetProperty("outcome").GetString()!);
        var records = (await crm.AuditAsync($"&customerId={id}")).Where(r => r.GetProperty("entry").GetProperty("actor").GetString() == "key:" + keyId).Select(Row).ToList();
        Assert.Equal([("UpsertCustomer", 200, "allowed"), ("PostCustomerEvent", 200, "allowed")], records);
        var failed = (await crm.AuditAsync($"&customerId={id}-missing")).Select(Row).ToList();
        Assert.Equal([("PostCustomerEvent", 404, "failed")], failed);
    }

    [Fact]
    public async Task Through_every_indirect_path_another_units_customer_answers_exactly_as_a_missing_one_and_stays_unchanged()
    {
        // A customer of the sibling unit, and an id nobody holds; every request below is made once naming each, by
        // callers of nl/north, and the two answers must not differ but for the id.
        var run = "ind" + Guid.NewGuid().ToString("N")[..6];
        var (foreign, missing, own) = ($"{run}-sibling", $"{run}-missing", $"{run}-own");
        using (var put = await crm.Admin.PutAsJsonAsync(new Uri(crm.Gateway, $"/api/v1/customers/{foreign}"), new { firstName = "Sib", email = $"{foreign}@example.com", tags = new[] { run }, orgUnit = Sibling }))
        {
            Assert.True(put.IsSuccessStatusCode);
        }

        using (var put = await crm.Admin.PutAsJsonAsync(new Uri(crm.Gateway, $"/api/v1/customers/{own}"), new { firstName = "Own", orgUnit = Own }))
        {
            Assert.True(put.IsSuccessStatusCode);
        }

        var before = await crm.Admin.GetStringAsync(new Uri(crm.Gateway, $"/api/v1/customers/{foreign}"));
        using var agent = crm.KeyClient((await crm.CreateKeyAsync($"{run} agent", Own, Roles.Agent)).Secret);
        using var manager = crm.KeyClient((await crm.CreateKeyAsync($"{run} manager", Own, Roles.CampaignManager)).Secret);
        using var privacy = crm.KeyClient((await crm.CreateKeyAsync($"{run} privacy", Own, Roles.PrivacyManager)).Secret);
        using var integrator = crm.KeyClient((await crm.CreateKeyAsync($"{run} integrator", Own, Roles.Integrator)).Secret);
        var now = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O");
        var paths = new (string What, HttpClient Client, string Method, string Path, string? Body, int Status)[]
        {
            ("merge", agent, "POST", $"/api/v1/customers/{own}/merge", "{\"otherCustomerId\":\"ID\"}", 404),
            ("static list", manager, "PUT", $"/api/v1/segments/{run}-list-N", "{\"name\":\"l\",\"customerIds\":[\"ID\"]}", 200),
            ("lookup", agent, "GET", "/api/v1/lookup?email=ID%40example.com", null, 200),
            ("event", integrator, "POST", "/api/v1/customers/ID/events", "{\"eventId\":\"x1\",\"type\":\"web.visit\",\"occurredAt\":\"" + now + "\",\"channel\":\"web\"}", 404),
            ("profile event", integrator, "POST", "/api/v1/customers/ID/events", "{\"eventId\":\"x2\",\"type\":\"profile.changed\",\"occurredAt\":\"" + now + "\",\"data\":{\"profile\":{\"orgUnit\":\"nl/north\"}}}", 404),
            ("offer outcome", agent, "POST", "/api/v1/customers/ID/offers/o1/outcome", "{\"outcome\":\"accepted\"}", 404),
            ("view", agent, "GET", "/api/v1/customers/ID", null, 404),
            ("history", agent, "GET", "/api/v1/customers/ID/history", null, 404),
            ("next best action", agent, "GET", "/api/v1/customers/ID/next-best-actions", null, 404),
            ("export", privacy, "GET", "/api/v1/customers/ID/export", null, 404),
            ("erase", privacy, "POST", "/api/v1/customers/ID/erase", "{}", 404),
        };

        var differences = new List<string>();
        var n = 0;
        foreach (var (what, client, method, path, body, status) in paths)
        {
            var answers = new List<(int Status, string Body)>();
            foreach (var id in new[] { foreign, missing })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("ID", id, StringComparison.Ordinal).Replace("-N", "-" + n++, StringComparison.Ordinal));
                if (body is not null)
                {
                    request.Content = new StringContent(body.Replace("ID", id, StringComparison.Ordinal), Encoding.UTF8, "application/json");
                }

                using var response = await client.SendAsync(request);
                answers.Add(((int)response.StatusCode, Comparable(await response.Content.ReadAsStringAsync(), id, n)));
            }

            if (answers[0].Status != status)
            {
                differences.Add($"{what}: {answers[0]}, expected status {status}");
            }

            if (answers[0] != answers[1])
            {
                differences.Add($"{what}: another unit's customer {answers[0]}, a missing one {answers[1]}");
            }
        }

        Assert.True(differences.Count == 0, string.Join(Environment.NewLine, differences));
        Assert.Equal(before, await crm.Admin.GetStringAsync(new Uri(crm.Gateway, $"/api/v1/customers/{foreign}")));
    }

    /// <summary>An answer with what differs between any two requests taken out: the id asked for, request ids, times and
    /// the segment's own id and version.</summary>
    private static string Comparable(string body, string id, int n)
    {
        var text = body.Replace(id, "ID", StringComparison.Ordinal).Replace($"-list-{n - 1}", "-list-N", StringComparison.Ordinal);
        try
        {
            return Strip(JsonNode(text));
        }
        catch (JsonException)
        {
            return text;
        }

        static System.Text.Json.Nodes.JsonNode? JsonNode(string json) => System.Text.Json.Nodes.JsonNode.Parse(json);

        static string Strip(System.Text.Json.Nodes.JsonNode? node)
        {
            void Walk(System.Text.Json.Nodes.JsonNode? n)
            {
                if (n is System.Text.Json.Nodes.JsonObject o)
                {
                    foreach (var key in o.Select(p => p.Key).Where(k => k is "traceId" or "version" or "updatedAt" or "createdAt" or "definedAt" or "listStamp").ToList())
                    {
                        o.Remove(key);
                    }

                    foreach (var p in o.ToList())
                    {
                        Walk(p.Value);
                    }
                }
                else if (n is System.Text.Json.Nodes.JsonArray a)
                {
                    foreach (var item in a)
                    {
                        Walk(item);
                    }
                }
            }

            Walk(node);
            return node?.ToJsonString() ?? "null";
        }
    }

    /// <summary>The refusal a cell must get, or null when the policy admits it.</summary>
    private static int? Expected(EndpointPolicy policy, string role, string unit)
    {
        if (!EndpointPolicies.Admits(policy, [role]))
        {
            return 403;
        }

        // Agents reach only their own call list; the matrix asks for agent a1's, which is no key's.
        if ((policy.Scope == Scope.Organisation && unit.Length > 0) || (policy.Scope == Scope.Agent && role == Roles.Agent))
        {
            return 403;
        }

        return policy.Scope is Scope.Customer or Scope.Segment or Scope.Campaign && unit == Sibling ? 404 : null;
    }

    private static async Task<int> SendAsync(HttpClient client, string endpoint, string cell)
    {
        var (method, path, body) = Requests[endpoint];
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{cell}", cell, StringComparison.Ordinal));
        if (body is not null)
        {
            var type = body.StartsWith('{') ? "application/json" : endpoint == "PostEventBatch" ? "application/x-ndjson" : "text/csv";
            request.Content = new StringContent(body, Encoding.UTF8, type);
        }

        // Headers only: the live stream never ends by itself; closing the response closes it.
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return (int)response.StatusCode;
    }

    private static async Task PutAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PutAsJsonAsync(path, body);
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private sealed record Cell(string Name, string Role, string Unit, string Actor, string Secret);
}
