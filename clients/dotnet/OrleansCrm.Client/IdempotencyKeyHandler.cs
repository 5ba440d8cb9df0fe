namespace OrleansCrm.Client;

/// <summary>
/// Gives every POST and PUT under <c>/api/v1</c> that has none an <c>Idempotency-Key</c> (a random 128-bit value), once
/// per call: retries of the call (<see cref="SafeRetryHandler"/>) carry the same key, so the gateway answers a repeat
/// with the first answer instead of running it again (a PUT of a profile takes the key as its change's id). Signing in
/// takes no key. A caller that sets its own key (to retry across restarts, say) keeps it.
/// </summary>
public sealed class IdempotencyKeyHandler : DelegatingHandler
{
    public const string Header = "Idempotency-Key";

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if ((request.Method == HttpMethod.Post || request.Method == HttpMethod.Put)
            && request.RequestUri?.AbsolutePath is { } path
            && path.StartsWith("/api/v1/", StringComparison.OrdinalIgnoreCase)
            && !path.StartsWith("/api/v1/auth/", StringComparison.OrdinalIgnoreCase)
            && !request.Headers.Contains(Header))
        {
            request.Headers.TryAddWithoutValidation(Header, Guid.NewGuid().ToString("N"));
        }

        return base.SendAsync(request, cancellationToken);
    }
}
