using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansCrm.Gateway.Access;
using OrleansCrm.Gateway.Api;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

/// <summary>
/// The contract integrators generate clients from (<c>/openapi/v1.json</c>, as the running product serves it): every
/// operation complete (id, summary, description, credentials, problem answers), clean under Redocly's recommended
/// rules, equal to the committed copy the typed client (<c>clients/dotnet</c>) is generated from, and its examples
/// taken by the gateway.
/// </summary>
[Collection(EmbeddedCrmCollection.Name)]
public sealed class ContractTests(EmbeddedCrmFixture crm)
{
    /// <summary>Set to 1 (clients/dotnet/generate.sh does) to write the served contract and regenerate the client
    /// instead of comparing them.</summary>
    private const string WriteVariable = "CRM_WRITE_CONTRACT";

    /// <summary>The Redocly CLI that scripts/test.sh installs.</summary>
    private const string RedoclyVariable = "CRM_TEST_REDOCLY";

    private static readonly string[] Schemes = [OpenApiContract.ApiKeyScheme, OpenApiContract.ApiKeyAuthorizationScheme, OpenApiContract.BearerScheme, OpenApiContract.SessionScheme];

    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch"];

    private static string ClientFolder => Path.Combine(Repo.Root, "clients", "dotnet");

    private async Task<JsonObject> ServedAsync()
    {
        using var response = await crm.Http.GetAsync(new Uri(crm.Gateway, "/openapi/v1.json"));
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private static IEnumerable<(string Path, string Method, JsonObject Operation)> Operations(JsonObject document) =>
        document["paths"]!.AsObject().SelectMany(path => path.Value!.AsObject()
            .Where(m => Methods.Contains(m.Key))
            .Select(m => (path.Key, m.Key, m.Value!.AsObject())));

    [Fact]
    public async Task Every_operation_has_an_id_a_summary_descriptions_its_credentials_and_its_problem_answers()
    {
        var document = await ServedAsync();
        var operations = Operations(document).ToList();
        var failures = new List<string>();
        Assert.True(operations.Count > 50, $"only {operations.Count} operations described");
        Assert.DoesNotContain(document["paths"]!.AsObject(), p => !p.Key.StartsWith("/api/", StringComparison.Ordinal));
        foreach (var (path, method, op) in operations)
        {
            var id = op["operationId"]?.GetValue<string>();
            var name = $"{method.ToUpperInvariant()} {path}";
            if (string.IsNullOrWhiteSpace(id))
            {
                failures.Add($"{name}: no operationId (WithName)");
                continue;
            }

            if (string.IsNullOrWhiteSpace(op["summary"]?.GetValue<string>()))
            {
                failures.Add($"{id}: no summary (WithSummary)");
            }

            if (string.IsNullOrWhiteSpace(op["description"]?.GetValue<string>()))
            {
                failures.Add($"{id}: no description");
            }

            foreach (var parameter in op["parameters"]?.AsArray() ?? [])
            {
                if (string.IsNullOrWhiteSpace(parameter!["description"]?.GetValue<string>()))
                {
                    failures.Add($"{id}: parameter {parameter["name"]} has no description (OpenApiParameters)");
                }
            }

            // Credentials: each scheme on its own, or (signing in) explicitly none.
            var security = op["security"]?.AsArray().Select(r => string.Join("+", r!.AsObject().Select(s => s.Key))).ToList();
            var anonymous = id is AccessEndpoints.IssueToken or AccessEndpoints.StartSession;
            if (security is null || (anonymous ? !security.SequenceEqual([""]) : !security.Order(StringComparer.Ordinal).SequenceEqual(Schemes.Order(StringComparer.Ordinal))))
            {
                failures.Add($"{id}: security is [{string.Join(", ", security ?? [])}]");
            }

            // Every operation: credentials (signing in: a wrong password), another site's page, the budget; and, but for
            // what the gateway answers from its own memory, the cluster away or late.
            var expected = new List<string> { "401", "403", "429" };
            if (id != "GetImport")
            {
                expected.AddRange(["503", "504"]);
            }

            if (path.Contains('{', StringComparison.Ordinal))
            {
                expected.Add("404");
            }

            if (method == "post" && !path.StartsWith("/api/v1/auth/", StringComparison.Ordinal))
            {
                expected.AddRange(["400", "409", "422"]);
                if (op["parameters"]?.AsArray().Any(p => p!["name"]?.GetValue<string>() == "Idempotency-Key" && p["in"]?.GetValue<string>() == "header") != true)
                {
                    failures.Add($"{id}: no Idempotency-Key header");
                }
            }

            var responses = op["responses"]!.AsObject();
            foreach (var code in expected.Where(c => !responses.ContainsKey(c)))
            {
                failures.Add($"{id}: no {code} answer");
            }

            foreach (var (code, response) in responses.Where(r => r.Key[0] is '4' or '5'))
            {
                var schema = response!["content"]?["application/problem+json"]?["schema"]?["$ref"]?.GetValue<string>();
                if (schema is not ("#/components/schemas/Problem" or "#/components/schemas/HttpValidationProblemDetails"))
                {
                    failures.Add($"{id}: its {code} is not a problem document ({schema ?? "no application/problem+json"})");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
        var ids = operations.Select(o => o.Operation["operationId"]!.GetValue<string>()).ToList();

        // Answers known from the endpoints themselves, not from the rules that describe them.
        JsonObject Responses(string operationId) => operations.Single(o => o.Operation["operationId"]!.GetValue<string>() == operationId).Operation["responses"]!.AsObject();
        Assert.True(Responses("PostEventBatch").ContainsKey("207"), "a batch with refused customers is 207");
        Assert.True(Responses(AccessEndpoints.IssueToken).ContainsKey("401"), "a wrong password is 401");
        Assert.True(Responses("PostCustomerEvent").ContainsKey("415"), "routing refuses a body that is not JSON");
        Assert.False(Responses("ImportCustomers").ContainsKey("413"), "an import lifts the body limit");
        Assert.False(Responses("ImportCustomers").ContainsKey("415"), "an import names a wrong Content-Type in a 400");
        Assert.False(Responses("GetImport").ContainsKey("503"), "an import's progress is in the gateway's memory");
        Assert.True(Responses("PutCampaign").ContainsKey("409"), "a running campaign cannot be changed");
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());

        // The schemes, the problem schema and the webhook the operations refer to are in the document.
        var components = document["components"]!.AsObject();
        Assert.Equal(Schemes.Order(StringComparer.Ordinal), components["securitySchemes"]!.AsObject().Select(s => s.Key).Order(StringComparer.Ordinal));
        Assert.NotNull(components["schemas"]!["Problem"]);
        var webhook = document["webhooks"]![OpenApiWebhooks.CampaignAction]!["post"]!;
        Assert.Equal("#/components/schemas/CampaignAction", webhook["requestBody"]!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>());
        Assert.Contains(webhook["parameters"]!.AsArray(), p => p!["name"]!.GetValue<string>() == OpenApiWebhooks.SignatureHeader && p["required"]!.GetValue<bool>());
    }

    [Fact]
    public async Task The_served_document_lints_clean_under_the_recommended_rules()
    {
        var redocly = Environment.GetEnvironmentVariable(RedoclyVariable);
        Assert.True(redocly is { Length: > 0 } && File.Exists(redocly), $"{RedoclyVariable} must name the Redocly CLI (scripts/test.sh installs it)");
        var file = Path.Combine(Path.GetTempPath(), $"crm-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, (await ServedAsync()).ToJsonString());
        try
        {
            var (exit, output, errors) = await RunAsync(redocly!, Repo.Root, ["lint", file, "--config", Path.Combine(Repo.Root, "redocly.yaml"), "--format=json", "--max-problems", "1000"]);
            Assert.True(output.TrimStart().StartsWith('{'), $"redocly lint printed no report (exit {exit}):{Environment.NewLine}{output}{errors}");
            var problems = JsonNode.Parse(output)!["problems"]!.AsArray()
                .Select(p => $"{p!["severity"]} {p["ruleId"]}: {p["message"]} at {p["location"]?[0]?["pointer"]}").ToList();
            Assert.True(problems.Count == 0 && exit == 0, $"redocly lint (exit {exit}):{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task The_committed_contract_and_typed_client_are_the_ones_the_gateway_serves()
    {
        var served = Normalised(await ServedAsync());
        var committedFile = Path.Combine(ClientFolder, "openapi.json");
        var generated = Path.Combine(ClientFolder, "OrleansCrm.Client", "Generated");
        var write = Environment.GetEnvironmentVariable(WriteVariable) == "1";
        if (write)
        {
            await File.WriteAllTextAsync(committedFile, served);
        }

        var committed = await File.ReadAllTextAsync(committedFile);
        Assert.True(committed == served, $"clients/dotnet/openapi.json differs from the served contract: run clients/dotnet/generate.sh ({FirstDifference(committed, served)})");

        // The client is what the generator makes of that contract, file for file.
        var fresh = write ? generated : Directory.CreateTempSubdirectory("crm-client-").FullName;
        try
        {
            if (write && Directory.Exists(generated))
            {
                Directory.Delete(generated, recursive: true);
            }

            var (exit, output, errors) = await RunAsync("dotnet", ClientFolder, ["tool", "run", "kiota", "generate", "--language", "CSharp", "--openapi", "openapi.json",
                "--class-name", "CrmApiClient", "--namespace-name", "OrleansCrm.Client.Generated", "--output", fresh,
                "--exclude-backward-compatible", "--clean-output", "--log-level", "Warning"]);
            Assert.True(exit == 0, $"kiota failed (exit {exit}; dotnet tool restore installs it):{Environment.NewLine}{output}{errors}");
            var expected = Files(fresh);
            var actual = Files(generated);
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
            var stale = expected.Where(f => f.Value != actual[f.Key]).Select(f => f.Key).ToList();
            Assert.True(stale.Count == 0, "generated files differ from the contract's (run clients/dotnet/generate.sh): " + string.Join(", ", stale.Take(10)));
        }
        finally
        {
            if (!write)
            {
                Directory.Delete(fresh, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Each_example_in_the_contract_is_a_request_the_gateway_takes()
    {
        var document = await ServedAsync();
        var byId = Operations(document).ToDictionary(o => o.Operation["operationId"]!.GetValue<string>(), StringComparer.Ordinal);
        var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["segmentId"] = "newsletter-spenders", ["campaignId"] = "winter" };

        // In the order a new integration would send them: customers first, then their events, a segment, a campaign.
        string[] order = ["UpsertCustomer", "PostCustomerEvent", "PostEventBatch", "ImportCustomers", "ImportTransactions", "PreviewSegment", "PutSegment", "PutCampaign"];
        Assert.Equal(OpenApiExamples.Bodies.Keys.Order(StringComparer.Ordinal), order.Order(StringComparer.Ordinal));
        foreach (var customer in new[] { "c-1001", "c-1002" })
        {
            values["customerId"] = customer;
            await SendExampleAsync(byId["UpsertCustomer"], values);
        }

        foreach (var id in order)
        {
            await SendExampleAsync(byId[id], values);
        }
    }

    [Fact]
    public async Task A_body_of_a_media_type_the_operation_does_not_read_is_a_415_naming_Content_Type_that_changes_nothing_and_is_not_kept()
    {
        var id = "ct" + Guid.NewGuid().ToString("N")[..8];
        using (var put = await crm.Http.PutCustomerAsync(crm.Gateway, id, new { firstName = "Media" }))
        {
            put.EnsureSuccessStatusCode();
        }

        var json = $$"""{"eventId":"{{id}}-e","type":"web.visit","occurredAt":"2026-12-01T10:00:00Z","channel":"web"}""";
        using var refused = await crm.Http.PostAsync(new Uri(crm.Gateway, $"/api/v1/customers/{id}/events"), new StringContent(json, Encoding.UTF8, "text/plain"));
        var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
        var view = JsonNode.Parse(await crm.Http.GetStringAsync(new Uri(crm.Gateway, $"/api/v1/customers/{id}")))!;
        var described = Operations(await ServedAsync()).Single(o => o.Operation["operationId"]!.GetValue<string>() == "PostCustomerEvent").Operation;

        // Without credentials it is 401 like any other request; and a 415 is not kept under its Idempotency-Key, so
        // the corrected request with the same key runs.
        using var anonymous = new HttpClient();
        using var unauthenticated = await anonymous.PostAsync(new Uri(crm.Gateway, $"/api/v1/customers/{id}/events"), new StringContent(json, Encoding.UTF8, "text/plain"));
        using var keyed = new HttpRequestMessage(HttpMethod.Post, new Uri(crm.Gateway, $"/api/v1/customers/{id}/events")) { Content = new StringContent(json, Encoding.UTF8, "text/plain") };
        keyed.Headers.Add("Idempotency-Key", id + "-key");
        using var keyedRefusal = await crm.Http.SendAsync(keyed);
        using var corrected = new HttpRequestMessage(HttpMethod.Post, new Uri(crm.Gateway, $"/api/v1/customers/{id}/events")) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        corrected.Headers.Add("Idempotency-Key", id + "-key");
        using var accepted = await crm.Http.SendAsync(corrected);

        Assert.Equal(415, (int)refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("text/plain", problem["errors"]!["Content-Type"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, view["eventCount"]!.GetValue<long>());
        Assert.NotNull(described["responses"]!["415"]);
        Assert.Equal(401, (int)unauthenticated.StatusCode);
        Assert.Equal(415, (int)keyedRefusal.StatusCode);
        Assert.Equal(200, (int)accepted.StatusCode);
        Assert.False(accepted.Headers.Contains("Idempotent-Replayed"));
    }

    private async Task SendExampleAsync((string Path, string Method, JsonObject Operation) op, Dictionary<string, string> values)
    {
        var id = op.Operation["operationId"]!.GetValue<string>();
        var content = op.Operation["requestBody"]!["content"]!.AsObject().First(c => c.Value!["example"] is not null);
        var example = content.Value!["example"]!;
        var body = example.GetValueKind() == JsonValueKind.String ? example.GetValue<string>() : example.ToJsonString();
        var path = values.Aggregate(op.Path, (p, v) => p.Replace("{" + v.Key + "}", v.Value, StringComparison.Ordinal));
        var query = string.Join("&", (op.Operation["parameters"]?.AsArray() ?? [])
            .Where(p => p!["in"]!.GetValue<string>() == "query" && p["example"] is not null)
            .Select(p => $"{p!["name"]}={Uri.EscapeDataString(p["example"]!.GetValue<string>())}"));
        using var request = new HttpRequestMessage(new HttpMethod(op.Method.ToUpperInvariant()), new Uri(crm.Gateway, query.Length > 0 ? $"{path}?{query}" : path))
        {
            Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue(content.Key)),
        };
        using var response = await crm.Http.SendAsync(request);
        var answer = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{id}'s example was answered {(int)response.StatusCode}: {answer}");
        if (JsonNode.Parse(answer) is JsonObject { } result && result["rowsRejected"] is { } rejected)
        {
            // An import answers 200 with the rows it refused: an example has none, and imports something.
            Assert.True(rejected.GetValue<long>() == 0, $"{id}'s example had rows rejected: {answer}");
            Assert.True(result["rowsImported"]!.GetValue<long>() > 0, $"{id}'s example imported nothing: {answer}");
        }
    }

    /// <summary>The served document as committed: without the servers (its address), indented, one line end.</summary>
    private static string Normalised(JsonObject document)
    {
        document.Remove("servers");
        return document.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private static Dictionary<string, string> Files(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != "kiota-lock.json")
            .ToDictionary(f => Path.GetRelativePath(folder, f).Replace('\\', '/'), File.ReadAllText, StringComparer.Ordinal);

    private static string FirstDifference(string a, string b)
    {
        var i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i])
        {
            i++;
        }

        var line = a.AsSpan(0, i).Count('\n') + 1;
        return $"first difference at line {line}";
    }

    /// <summary>The generator runs offline (no update check) and prints no hints.</summary>
    private static readonly Dictionary<string, string> Quiet = new() { ["KIOTA_OFFLINE_ENABLED"] = "true", ["KIOTA_TUTORIAL_ENABLED"] = "false" };

    private static Task<(int ExitCode, string StdOut, string StdErr)> RunAsync(string file, string folder, string[] arguments) =>
        Commands.RunAsync(file, arguments, TimeSpan.FromMinutes(3), folder, Quiet);
}
