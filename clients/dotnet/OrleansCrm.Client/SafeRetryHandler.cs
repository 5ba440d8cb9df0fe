using System.Net;

namespace OrleansCrm.Client;

/// <summary>
/// Retries what cannot do its work twice, and only that:
/// <list type="bullet">
/// <item>Any request refused for budget (429): the gateway refuses it before it runs. The wait is its
/// <c>Retry-After</c>; one longer than <see cref="CrmClientOptions.MaxRetryDelay"/> is handed back to the caller.</item>
/// <item>GET, HEAD, PUT and DELETE, and the POSTs that are idempotent by their content (events, batches, imports, a
/// segment preview), when the cluster could not take them (503), did not answer in time (504) or the connection
/// failed.</item>
/// <item>A POST with an <c>Idempotency-Key</c> (<see cref="IdempotencyKeyHandler"/>) after a failed connection, and
/// while the gateway says its first attempt is still running (409 with <c>Retry-After</c>): the gateway then answers
/// with the first attempt's kept answer. Not after a 503 or 504, whose answers the gateway does not keep: running it
/// again could do it twice, so the caller decides.</item>
/// </list>
/// Bodies of known length up to <see cref="CrmClientOptions.MaxRetriedBody"/> are kept to send again; others go
/// once. After the last attempt the caller gets the last answer (the generated client then throws its problem) or the
/// last connection error.
/// </summary>
public sealed class SafeRetryHandler(CrmClientOptions options, Uri baseUrl) : DelegatingHandler
{
    private enum Kind
    {
        Once,
        BudgetOnly,
        Keyed,
        Repeatable,
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var kind = Classify(request);
        var content = request.Content;
        if (kind == Kind.Once || options.MaxRetries <= 0
            || (content is not null && content.Headers.ContentLength is not (>= 0 and <= CrmClientOptions.MaxRetriedBody)))
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var body = content is null ? null : await content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var contentHeaders = content is null ? [] : content.Headers.ToArray();
        for (var attempt = 0; ; attempt++)
        {
            var last = attempt >= options.MaxRetries;
            using var copy = Copy(request, body, contentHeaders);
            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(copy, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException) when (!last && kind is Kind.Keyed or Kind.Repeatable && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (last || Wait(kind, attempt, response) is not { } wait)
            {
                return response;
            }

            response.Dispose();
            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
        }
    }

    private Kind Classify(HttpRequestMessage request)
    {
        var method = request.Method;
        if (method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Put || method == HttpMethod.Delete)
        {
            return Kind.Repeatable;
        }

        if (method != HttpMethod.Post)
        {
            return Kind.Once;
        }

        var path = ApiRoutes.Relative(baseUrl, request.RequestUri);
        return path is not null && ApiRoutes.IdempotentByContent(path) ? Kind.Repeatable
            : request.Headers.Contains(IdempotencyKeyHandler.Header) ? Kind.Keyed
            : Kind.BudgetOnly;
    }

    /// <summary>How long to wait before trying <paramref name="response"/>'s request again, or null not to.</summary>
    private TimeSpan? Wait(Kind kind, int attempt, HttpResponseMessage response)
    {
        var retryAfter = response.Headers.RetryAfter is { } header
            ? header.Delta ?? (header.Date is { } date ? date - DateTimeOffset.UtcNow : null)
            : null;
        var again = response.StatusCode switch
        {
            HttpStatusCode.TooManyRequests => true,
            HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout => kind == Kind.Repeatable,
            HttpStatusCode.Conflict => kind == Kind.Keyed && retryAfter is not null,
            _ => false,
        };
        if (!again)
        {
            return null;
        }

        if (retryAfter is { } after && after > options.MaxRetryDelay)
        {
            return null;
        }

        var backoff = Backoff(attempt);
        return retryAfter is { } asked && asked > backoff ? asked : backoff;
    }

    private TimeSpan Backoff(int attempt)
    {
        var wait = options.FirstRetryDelay * Math.Pow(2, attempt);
        // Up to a quarter more, at random, so many clients that failed together do not retry together.
        wait += wait * (Random.Shared.NextDouble() / 4);
        return wait < options.MaxRetryDelay ? wait : options.MaxRetryDelay;
    }

    /// <summary>A fresh message for one attempt (a message is sent once), with the same headers and body.</summary>
    private static HttpRequestMessage Copy(HttpRequestMessage request, byte[]? body, KeyValuePair<string, IEnumerable<string>>[] contentHeaders)
    {
        var copy = new HttpRequestMessage(request.Method, request.RequestUri) { Version = request.Version, VersionPolicy = request.VersionPolicy };
        foreach (var header in request.Headers)
        {
            copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        foreach (var option in request.Options)
        {
            ((IDictionary<string, object?>)copy.Options)[option.Key] = option.Value;
        }

        if (body is not null)
        {
            copy.Content = new ByteArrayContent(body);
            foreach (var header in contentHeaders)
            {
                copy.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return copy;
    }
}
