using Microsoft.Kiota.Abstractions.Authentication;
using Microsoft.Kiota.Http.HttpClientLibrary;
using Microsoft.Kiota.Http.HttpClientLibrary.Middleware;
using OrleansCrm.Client.Generated;
using OrleansCrm.Client.Generated.Api.V1;

namespace OrleansCrm.Client;

/// <summary>
/// The typed client of an OrleansCrm gateway. <see cref="Api"/> is the client generated from the contract (every
/// operation, its parameters, bodies and answers; a problem answer is thrown as <c>Generated.Models.Problem</c>).
/// Around it: POSTs and PUTs get an <c>Idempotency-Key</c> and are retried safely (<see cref="SafeRetryHandler"/>),
/// events go in NDJSON batches (<see cref="PostEventsAsync"/>), the action feed is read page by page
/// (<see cref="ReadActionPagesAsync"/>), and webhook deliveries are checked by <see cref="WebhookSignature"/>.
/// </summary>
public sealed partial class CrmClient : IDisposable
{
    private readonly HttpClient _http;

    private CrmClient(Uri baseUrl, IAuthenticationProvider credentials, CrmClientOptions? options)
    {
        options ??= new CrmClientOptions();
        // Kiota's own pipeline, with its retry handler (which retries any method) replaced by one that repeats only
        // what is safe, behind the handler that gives changes their idempotency keys.
        // The API never redirects, and a redirect to another host would carry the API key there: none is followed.
        var handlers = KiotaClientFactory.CreateDefaultHandlers().Where(h => h is not (RetryHandler or RedirectHandler)).ToList();
        handlers.Insert(0, new IdempotencyKeyHandler(baseUrl));
        handlers.Insert(1, new SafeRetryHandler(options, baseUrl));
        _http = KiotaClientFactory.Create(handlers, options.Transport ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false });
        _http.Timeout = options.Timeout;
        BaseUrl = baseUrl;
        var adapter = new HttpClientRequestAdapter(credentials, httpClient: _http) { BaseUrl = baseUrl.ToString().TrimEnd('/') };
        Generated = new CrmApiClient(adapter);
    }

    /// <summary>The client generated from the contract, from its root (<c>/api</c>).</summary>
    public CrmApiClient Generated { get; }

    /// <summary>Every operation of the contract under <c>/api/v1</c>: <c>V1.Customers["id"].GetAsync()</c>.</summary>
    public V1RequestBuilder V1 => Generated.Api.V1;

    public Uri BaseUrl { get; }

    /// <summary>A client presenting an integrator's API key (<c>X-Api-Key</c>).</summary>
    public static CrmClient WithApiKey(Uri baseUrl, string apiKey, CrmClientOptions? options = null) =>
        new(baseUrl, new HeaderCredentials("X-Api-Key", apiKey, baseUrl), options);

    /// <summary>A client presenting a bearer token from <c>POST /api/v1/auth/token</c>.</summary>
    public static CrmClient WithBearerToken(Uri baseUrl, string token, CrmClientOptions? options = null) =>
        new(baseUrl, new HeaderCredentials("Authorization", "Bearer " + token, baseUrl), options);

    /// <summary>A client with no credentials: only signing in answers it.</summary>
    public static CrmClient Anonymous(Uri baseUrl, CrmClientOptions? options = null) =>
        new(baseUrl, new AnonymousAuthenticationProvider(), options);

    public void Dispose() => _http.Dispose();
}
