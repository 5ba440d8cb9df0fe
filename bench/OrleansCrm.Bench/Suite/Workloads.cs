using System.Net.Http.Json;
using OrleansCrm.Bench.Baseline;
using OrleansCrm.Bench.Population;
using OrleansCrm.Customers;

namespace OrleansCrm.Bench.Suite;

/// <summary>The body both ingest endpoints accept (the CRM's event envelope, a purchase).</summary>
public sealed record IngestBody(string EventId, string Type, DateTimeOffset OccurredAt, string? Channel, IngestData Data);

public sealed record IngestData(decimal? Amount, string? Category);

/// <summary>
/// The requests each scenario sends, for the CRM (direct grain call, or its HTTP gateway) and for the baseline
/// (direct store call, or its HTTP tier). Customers are picked uniformly at random; ingest sends a new purchase with
/// an event id never used before in the run.
/// </summary>
public sealed class Workloads(int customers, IClusterClient? grains, HttpClient? crmHttp, BaselineStore? store, HttpClient? baselineHttp)
{
    private long _events;

    /// <summary>Purchases sent so far (both systems draw their event ids from this counter).</summary>
    public long EventsSent => Interlocked.Read(ref _events);

    public Task CrmViewDirectAsync() => grains!.GetCustomer(Pick()).GetViewAsync();

    public Task CrmViewHttpAsync() => GetAsync(crmHttp!, $"/api/v1/customers/{Pick()}");

    /// <summary>The gateway's authenticated ceiling: the same stack as a view (authentication, rate limiting, the policy
    /// check, the access filter) on an endpoint that calls no grain and audits nothing.</summary>
    public Task CrmCeilingHttpAsync() => GetAsync(crmHttp!, "/api/v1/auth/me");

    public Task CrmNextBestActionDirectAsync() => grains!.GetCustomer(Pick()).GetNextBestActionsAsync();

    public Task CrmNextBestActionHttpAsync() => GetAsync(crmHttp!, $"/api/v1/customers/{Pick()}/next-best-actions");

    /// <summary>One purchase, answered with its acknowledgement only, as the baseline answers.</summary>
    public Task CrmIngestDirectAsync()
    {
        var e = NewPurchase();
        return grains!.GetCustomer(Pick()).RecordAsync([e], new RecordOptions(CreateIfMissing: false, ReturnView: false));
    }

    /// <summary>One purchase over HTTP with <c>Prefer: return=minimal</c>: the acknowledgement only, as the baseline answers.</summary>
    public Task CrmIngestHttpAsync() => PostAsync(crmHttp!, $"/api/v1/customers/{Pick()}/events", minimal: true);

    /// <summary>One purchase over HTTP answered with the customer's new view (what the API does unless asked not to).</summary>
    public Task CrmIngestHttpWithViewAsync() => PostAsync(crmHttp!, $"/api/v1/customers/{Pick()}/events");

    public async Task BaselineViewDirectAsync()
    {
        var id = Pick();
        _ = await store!.GetViewAsync(id) ?? throw new InvalidOperationException($"baseline customer {id} not found");
    }

    public Task BaselineViewHttpAsync() => GetAsync(baselineHttp!, $"/baseline/customers/{Pick()}");

    public async Task BaselineIngestDirectAsync()
    {
        var e = NewPurchase();
        var id = Pick();
        if (await store!.RecordAsync(id, e.EventId, e.Type, e.OccurredAt, e.Data.Amount!.Value, e.Data.Quantity, e.Channel, e.Data.Category) != IngestOutcome.Recorded)
        {
            throw new InvalidOperationException($"baseline event {e.EventId} for {id} not recorded");
        }
    }

    public Task BaselineIngestHttpAsync() => PostAsync(baselineHttp!, $"/baseline/customers/{Pick()}/events");

    private string Pick() => SyntheticPopulation.CustomerId(Random.Shared.Next(customers));

    private CustomerEvent NewPurchase() =>
        SyntheticPopulation.Purchase("ingest-" + Interlocked.Increment(ref _events), DateTimeOffset.UtcNow, Random.Shared);

    private static async Task GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative), HttpCompletionOption.ResponseContentRead);
        response.EnsureSuccessStatusCode();
    }

    private async Task PostAsync(HttpClient http, string path, bool minimal = false)
    {
        var e = NewPurchase();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
        {
            Content = JsonContent.Create(new IngestBody(e.EventId, e.Type, e.OccurredAt, e.Channel, new IngestData(e.Data.Amount, e.Data.Category))),
        };
        if (minimal)
        {
            request.Headers.Add("Prefer", "return=minimal");
        }

        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>An HTTP client for load: enough connections for an open-loop step's requests in flight.</summary>
    public static HttpClient Client(string baseAddress, string? apiKey)
    {
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = new Uri(baseAddress),
            Timeout = TimeSpan.FromSeconds(60),
        };
        if (apiKey is not null)
        {
            http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        return http;
    }
}
