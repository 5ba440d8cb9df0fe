namespace OrleansCrm.Client;

/// <summary>
/// Gives an <c>Idempotency-Key</c> (a random 128-bit value), once per call, to every POST that changes something and
/// is not already safe to repeat by its content, and to a customer's profile PUT (whose key is the change's id). The
/// gateway keeps the first answer to a keyed POST for 24 hours, so a retry of the call (<see cref="SafeRetryHandler"/>)
/// gets that answer instead of running it again. Events, batches and imports get none: their event ids already make a
/// repeat a duplicate, and a kept answer would cost the ingest path a stored copy per request. Signing in gets none.
/// A caller that sets its own key (to retry across restarts, say) keeps it.
/// </summary>
public sealed class IdempotencyKeyHandler(Uri baseUrl) : DelegatingHandler
{
    public const string Header = "Idempotency-Key";

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Headers.Contains(Header) && ApiRoutes.Relative(baseUrl, request.RequestUri) is { } path
            && ((request.Method == HttpMethod.Post && !ApiRoutes.SigningIn(path) && !ApiRoutes.IdempotentByContent(path))
                || (request.Method == HttpMethod.Put && ApiRoutes.ProfilePut(path))))
        {
            request.Headers.TryAddWithoutValidation(Header, Guid.NewGuid().ToString("N"));
        }

        return base.SendAsync(request, cancellationToken);
    }
}
