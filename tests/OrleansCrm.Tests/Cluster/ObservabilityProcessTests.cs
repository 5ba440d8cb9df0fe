using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>What an operator reads on a cluster whose silos run apart from the gateway: one correlation id through
/// the gateway's and the silo's JSON logs for a request, and each silo's own metrics without HTTP on the silo.</summary>
public sealed class ObservabilityProcessTests
{
    [Fact]
    public async Task A_request_correlation_id_reaches_the_grain_logs_of_another_process_and_silos_serve_their_metrics()
    {
        await using var pg = TestPostgres.Reserve();
        using var http = TestAuth.AdminClient(TimeSpan.FromSeconds(30));
        var metricsPort = Ports.Free();
        await using var cluster = await ProcessCluster.StartAsync(pg, http, silos: 1, "obs", (name, config) =>
        {
            config["log"] = new JsonObject { ["level"] = "Information", ["format"] = "json", ["everyRequest"] = true };
            if (name == "silo1")
            {
                ((JsonObject)config["silo"]!)["metricsPort"] = metricsPort;
            }
        });
        var (gateway, silo) = (cluster.Http, cluster.Silos[0]);

        var customer = "obs-" + Guid.NewGuid().ToString("N")[..8];
        using (var put = await http.PutCustomerAsync(gateway, customer, new { firstName = "Olga", email = $"{customer}@example.com" }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        // The caller's id comes back, and the grain that did the work (in the silo process) logged under it.
        var correlation = "case-4711:" + Guid.NewGuid().ToString("N")[..12];
        using (var erase = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, $"/api/v1/customers/{customer}/erase")) { Content = JsonContent.Create(new { reason = "request by the customer" }) })
        {
            erase.Headers.Add("X-Correlation-Id", correlation);
            using var erased = await http.SendAsync(erase);
            Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
            Assert.Equal(correlation, Assert.Single(erased.Headers.GetValues("X-Correlation-Id")));
        }

        var grainLine = await Poll.UntilAsync(
            () => Task.FromResult(FirstLine(silo.Output, l => Text(l, "CorrelationId") == correlation && Text(l, "SourceContext")?.EndsWith("CustomerGrain", StringComparison.Ordinal) == true)),
            TimeSpan.FromSeconds(30),
            "the customer grain's erasure line with the correlation id in the silo's log" + Environment.NewLine + silo.Output);
        Assert.Contains("erased", Text(grainLine!.Value, "@mt"), StringComparison.Ordinal);
        Assert.Equal(customer, Text(grainLine!.Value, "CustomerId"));
        Assert.Equal("silo", Text(grainLine!.Value, "Role"));
        var requestLine = await Poll.UntilAsync(
            () => Task.FromResult(FirstLine(cluster.Gateway.Output, l => Text(l, "CorrelationId") == correlation && Text(l, "RequestPath") is not null)),
            TimeSpan.FromSeconds(30),
            "the gateway's request line with the correlation id");
        Assert.Equal($"/api/v1/customers/{customer}/erase", Text(requestLine!.Value, "RequestPath"));
        Assert.Equal("gateway", Text(requestLine!.Value, "Role"));

        // Without an acceptable id of its own (here: spaces and quotes), a request gets a fresh one, and a problem
        // answer names it as its traceId.
        using (var bad = new HttpRequestMessage(HttpMethod.Post, new Uri(gateway, $"/api/v1/customers/{customer}/events")) { Content = new StringContent("{\"type\":", System.Text.Encoding.UTF8, "application/json") })
        {
            bad.Headers.TryAddWithoutValidation("X-Correlation-Id", "\"drop table\"");
            using var refused = await http.SendAsync(bad);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            var given = Assert.Single(refused.Headers.GetValues("X-Correlation-Id"));
            Assert.Matches("^[0-9a-f]{32}$", given);
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(given, problem.GetProperty("traceId").GetString());
        }

        // The silo has no HTTP API, yet Prometheus reads its grain calls, activations and the CRM's counters there.
        using var scrape = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var metrics = await Poll.UntilAsync(
            async () => await scrape.GetStringAsync(new Uri($"http://127.0.0.1:{metricsPort}/metrics")) is var t && t.Contains("crm_customer_events_total", StringComparison.Ordinal) ? t : null,
            TimeSpan.FromSeconds(30),
            "the silo's metrics");
        Assert.Contains("orleans_app_requests_latency_milliseconds_count", metrics, StringComparison.Ordinal);
        Assert.Contains("orleans_catalog_activations", metrics, StringComparison.Ordinal);
        Assert.Contains("crm_storage_duration_seconds_count", metrics, StringComparison.Ordinal);
        using var api = await scrape.GetAsync(new Uri($"http://127.0.0.1:{metricsPort}/api/v1/customers/{customer}"));
        Assert.Equal(HttpStatusCode.NotFound, api.StatusCode);
    }

    /// <summary>The first log line matching <paramref name="match"/>, or null while there is none (a JsonElement's
    /// default is not null, so a poll on it would stop at once, before the line is written).</summary>
    private static JsonElement? FirstLine(string output, Func<JsonElement, bool> match) =>
        JsonLines(output).Where(match).Select(l => (JsonElement?)l).FirstOrDefault();

    private static IEnumerable<JsonElement> JsonLines(string output)
    {
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            JsonElement parsed;
            try
            {
                parsed = JsonSerializer.Deserialize<JsonElement>(line);
            }
            catch (JsonException)
            {
                continue;
            }

            yield return parsed;
        }
    }

    private static string? Text(JsonElement line, string property) =>
        line.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
