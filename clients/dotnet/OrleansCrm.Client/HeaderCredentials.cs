using Microsoft.Kiota.Abstractions;
using Microsoft.Kiota.Abstractions.Authentication;

namespace OrleansCrm.Client;

/// <summary>
/// Credentials sent in a header (an API key as <c>X-Api-Key</c>, a token as <c>Authorization: Bearer</c>) to the
/// client's own gateway only: over https, or over http to this machine (the CRM's default address is
/// http://127.0.0.1:5080), never to another host.
/// </summary>
public sealed class HeaderCredentials(string header, string value, Uri gateway) : IAuthenticationProvider
{
    public Task AuthenticateRequestAsync(RequestInformation request, Dictionary<string, object>? additionalAuthenticationContext = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.URI;
        if (!string.Equals(uri.Authority, gateway.Authority, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"credentials are sent only to {gateway.Authority}, not {uri.Authority}");
        }

        if (uri.Scheme != Uri.UriSchemeHttps && !uri.IsLoopback)
        {
            throw new InvalidOperationException($"credentials go over https only (or http to this machine), not to {uri.Scheme}://{uri.Authority}");
        }

        request.Headers.Remove(header);
        request.Headers.Add(header, value);
        return Task.CompletedTask;
    }
}
