using System.Net;

namespace OrleansCrm.Client;

/// <summary>
/// Retries what is safe to repeat, and only that: a request the cluster could not take (503), did not answer in time
/// (504) or refused for budget (429, after its <c>Retry-After</c>), or one whose connection failed. GET, HEAD, PUT and
/// DELETE are repeatable by their nature; a POST only with an <c>Idempotency-Key</c>, which
/// <see cref="IdempotencyKeyHandler"/> gives it before this handler runs, so every attempt carries the same key and
/// the gateway runs it at most once. After the last attempt the caller gets the last answer (the generated client
/// then throws its problem) or the last connection error.
/// </summary>
public sealed class SafeRetryHandler(CrmClientOptions options) : DelegatingHandler
{
    private static readonly HttpStatusCode[] Retried = [HttpStatusCode.TooManyRequests, HttpStatusCode.ServiceUnavailable, HttpStatusCode.GatewayTimeout];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!Repeatable(request) || options.MaxRetries <= 0)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        // The body is read once into memory so each attempt sends the same bytes (streams larger than the limit go once).
        var body = request.Content is null ? null : await BufferAsync(request.Content, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var last = attempt >= options.MaxRetries;
            using var copy = Copy(request, body);
            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(copy ?? request, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException) when (!last && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(Backoff(attempt, null), cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (last || !Retried.Contains(response.StatusCode))
            {
                return response;
            }

            var wait = Backoff(attempt, response.Headers.RetryAfter?.Delta);
            response.Dispose();
            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Whether repeating <paramref name="request"/> cannot do its work twice.</summary>
    public static bool Repeatable(HttpRequestMessage request) =>
        request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Put || request.Method == HttpMethod.Delete
        || (request.Method == HttpMethod.Post && request.Headers.Contains(IdempotencyKeyHandler.Header));

    private TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        var exponential = options.FirstRetryDelay * Math.Pow(2, attempt);
        var wait = retryAfter is { } after && after > exponential ? after : exponential;
        // Up to a quarter more, at random, so many clients that failed together do not retry together.
        wait += wait * (Random.Shared.NextDouble() / 4);
        return wait < options.MaxRetryDelay ? wait : options.MaxRetryDelay;
    }

    private static async Task<(byte[] Bytes, KeyValuePair<string, IEnumerable<string>>[] Headers)?> BufferAsync(HttpContent content, CancellationToken cancellation)
    {
        if (content.Headers.ContentLength is > CrmClientOptions.MaxRetriedBody)
        {
            return null;
        }

        var bytes = await content.ReadAsByteArrayAsync(cancellation).ConfigureAwait(false);
        return (bytes, [.. content.Headers]);
    }

    /// <summary>A fresh message for one attempt (a message is sent once), with the same headers and body.</summary>
    private static HttpRequestMessage? Copy(HttpRequestMessage request, (byte[] Bytes, KeyValuePair<string, IEnumerable<string>>[] Headers)? body)
    {
        if (request.Content is not null && body is null)
        {
            return null;
        }

        var copy = new HttpRequestMessage(request.Method, request.RequestUri) { Version = request.Version, VersionPolicy = request.VersionPolicy };
        foreach (var header in request.Headers)
        {
            copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        foreach (var option in request.Options)
        {
            ((IDictionary<string, object?>)copy.Options)[option.Key] = option.Value;
        }

        if (body is { } b)
        {
            copy.Content = new ByteArrayContent(b.Bytes);
            foreach (var header in b.Headers)
            {
                copy.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return copy;
    }
}
