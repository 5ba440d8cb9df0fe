using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using OrleansCrm.Access;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Gateway.Access;

/// <summary>
/// Who is calling: an API key (<c>X-Api-Key: …</c> or <c>Authorization: ApiKey …</c>), a bearer token
/// (<c>Authorization: Bearer …</c>) or the web session cookie holding the same token. No credentials is no result (the
/// access filter answers 401); wrong credentials fail.
/// </summary>
public sealed class CrmAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenService tokens,
    ApiKeys keys) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var (principal, failure) = await AuthenticateAsync(Request, tokens, keys);
        return principal is not null ? Success(principal) : failure is null ? AuthenticateResult.NoResult() : AuthenticateResult.Fail(failure);
    }

    /// <summary>The caller as the request's credentials say now: a principal, or why they fail, or neither (no
    /// credentials). Not cached per request, so a long request (a live stream) can ask again.</summary>
    public static async Task<(ClaimsPrincipal? Principal, string? Failure)> AuthenticateAsync(HttpRequest request, TokenService tokens, ApiKeys keys)
    {
        var authorization = request.Headers.Authorization.ToString();
        var apiKey = request.Headers["X-Api-Key"].ToString();
        if (apiKey.Length == 0 && authorization.StartsWith("ApiKey ", StringComparison.OrdinalIgnoreCase))
        {
            apiKey = authorization["ApiKey ".Length..].Trim();
        }

        if (apiKey.Length > 0)
        {
            var principal = await keys.AuthenticateAsync(apiKey);
            return principal is null ? (null, "The API key is unknown or revoked.") : (principal, null);
        }

        string? token = null;
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = authorization["Bearer ".Length..].Trim();
        }
        else if (request.Cookies.TryGetValue(CrmPrincipal.SessionCookie, out var cookie) && cookie.Length > 0)
        {
            token = cookie;
        }

        if (token is null)
        {
            return (null, null);
        }

        var signed = await tokens.ValidateAsync(token);
        if (signed is null)
        {
            return (null, "The token is malformed, expired or not signed by this cluster.");
        }

        // The token names the user; what the user may do now (enabled, roles, unit) is read from the user record, so
        // disabling a user or changing their roles takes effect within the cache lifetime, not at token expiry.
        var current = await keys.CurrentUserAsync(signed.Actor(), signed.IssuedAt());
        return current is null ? (null, "The user no longer exists, may not sign in, or signed out since this token was issued.") : (current, null);
    }

    private AuthenticateResult Success(ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name));
}

/// <summary>
/// Integrators' keys: <c>crm_&lt;id&gt;_&lt;secret&gt;</c>, the secret 32 random bytes in hex, stored as its SHA-256 only. Lookups
/// are cached for 30 s, so a revocation takes effect within that. The administrator key from configuration
/// (<c>gateway.adminKey</c>) is checked here too, by hash and in constant time.
/// </summary>
public sealed class ApiKeys(IClusterClient cluster, CrmSettings settings, TimeProvider clock)
{
    public const string ConfiguredAdminActor = "key:configured-admin";
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, (ApiKeyRecord? Key, DateTimeOffset At)> _cache = new(StringComparer.Ordinal);
    private readonly byte[]? _adminHash = settings.Gateway.AdminKey is { } admin ? SHA256.HashData(Encoding.UTF8.GetBytes(admin)) : null;

    /// <summary>A new key's id and the full secret to show once.</summary>
    public static (string Id, string Secret, string Hash) NewKey()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var full = $"crm_{id}_{secret}";
        return (id, full, Hash(full));
    }

    public static string Hash(string fullKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(fullKey)));

    private readonly ConcurrentDictionary<string, (UserRecord? User, DateTimeOffset At)> _users = new(StringComparer.Ordinal);

    public void Forget(string id) => _cache.TryRemove(id, out _);

    public void ForgetUser(string login) => _users.TryRemove(login, out _);

    /// <summary>The principal of an enabled user as the user record says now (cached for 30 s), or null; null too for
    /// a token issued (<paramref name="issuedAt"/>) before the user's sessions were ended (sign-out, new password).</summary>
    public async Task<ClaimsPrincipal?> CurrentUserAsync(string login, DateTimeOffset? issuedAt)
    {
        var now = clock.GetUtcNow();
        if (!_users.TryGetValue(login, out var entry) || now - entry.At > CacheFor)
        {
            entry = (await cluster.GetGrain<IAccessGrain>(0).FindUserAsync(login), now);
            _users[login] = entry;
        }

        if (entry.User is not { Enabled: true } user || (user.SessionsFrom is { } from && (issuedAt is null || issuedAt < from)))
        {
            return null;
        }

        var principal = CrmPrincipal.Create(user.Login, "user", user.Roles, user.OrgUnit);
        if (issuedAt is { } at)
        {
            ((ClaimsIdentity)principal.Identity!).AddClaim(new Claim(CrmPrincipal.IssuedAtClaim, at.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        return principal;
    }

    public async Task<ClaimsPrincipal?> AuthenticateAsync(string presented)
    {
        if (_adminHash is not null && CryptographicOperations.FixedTimeEquals(_adminHash, SHA256.HashData(Encoding.UTF8.GetBytes(presented))))
        {
            return CrmPrincipal.Create(ConfiguredAdminActor, "key", [Roles.Administrator], "");
        }

        // crm_<12 hex id>_<64 hex secret>
        if (presented.Length != 4 + 12 + 1 + 64 || !presented.StartsWith("crm_", StringComparison.Ordinal) || presented[16] != '_')
        {
            return null;
        }

        var id = presented[4..16];
        var now = clock.GetUtcNow();
        if (!_cache.TryGetValue(id, out var entry) || now - entry.At > CacheFor)
        {
            entry = (await cluster.GetGrain<IAccessGrain>(0).FindApiKeyAsync(id), now);
            _cache[id] = entry;
        }

        if (entry.Key is not { RevokedAt: null } key
            || !CryptographicOperations.FixedTimeEquals(Convert.FromHexString(key.SecretHash), SHA256.HashData(Encoding.UTF8.GetBytes(presented))))
        {
            return null;
        }

        return CrmPrincipal.Create("key:" + key.Id, "key", key.Roles, key.OrgUnit);
    }
}
