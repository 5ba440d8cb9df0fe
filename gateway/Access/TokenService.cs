using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OrleansCrm.Catalog;
using OrleansCrm.Gateway.Hosting;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Gateway.Access;

/// <summary>
/// Issues and checks the gateway's bearer tokens: JWTs signed with HMAC-SHA256. The key is made on first use and kept
/// in the catalog (kind <c>signing-key</c>), so every gateway of a cluster shares it with no set-up; a new document
/// version rotates it (tokens signed with the old key stop being accepted within a minute).
/// </summary>
public sealed class TokenService(IClusterClient cluster, CrmSettings settings, TimeProvider clock) : IDisposable
{
    private const string Issuer = "orleans-crm";
    private static readonly TimeSpan KeyRefresh = TimeSpan.FromMinutes(1);
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly SemaphoreSlim _loading = new(1, 1);
    private (SymmetricSecurityKey Key, DateTimeOffset LoadedAt)? _key;

    public TimeSpan Lifetime => settings.Gateway.TokenTtl;

    public async Task<(string Token, DateTimeOffset ExpiresAt)> IssueAsync(string name, string kind, string[] roles, string orgUnit)
    {
        var key = await KeyAsync();
        var now = clock.GetUtcNow();
        var expires = now + Lifetime;
        var claims = new Dictionary<string, object>
        {
            ["sub"] = name,
            [CrmPrincipal.KindClaim] = kind,
            [CrmPrincipal.OrgUnitClaim] = orgUnit,
            ["roles"] = roles,
            [CrmPrincipal.IssuedAtClaim] = now.ToUnixTimeMilliseconds(),
        };
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Issuer,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
        return (token, expires);
    }

    /// <summary>The principal a token stands for, or null when it is malformed, expired or not signed by this cluster.</summary>
    public async Task<ClaimsPrincipal?> ValidateAsync(string token)
    {
        var key = await KeyAsync();
        var result = await _handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = Issuer,
            IssuerSigningKey = key,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ClockSkew = TimeSpan.FromSeconds(30),
            LifetimeValidator = (notBefore, expires, _, _) =>
                expires is { } e && e > clock.GetUtcNow().UtcDateTime && (notBefore is null || notBefore <= clock.GetUtcNow().UtcDateTime.AddSeconds(30)),
        });
        if (!result.IsValid)
        {
            return null;
        }

        var jwt = (JsonWebToken)result.SecurityToken;
        var roles = jwt.Claims.Where(c => c.Type == "roles").Select(c => c.Value);
        var principal = CrmPrincipal.Create(
            jwt.Subject,
            jwt.TryGetPayloadValue<string>(CrmPrincipal.KindClaim, out var kind) ? kind : "user",
            roles,
            jwt.TryGetPayloadValue<string>(CrmPrincipal.OrgUnitClaim, out var org) ? org : "");
        // A token from before this claim existed counts as issued at its iat (whole seconds).
        var issued = jwt.TryGetPayloadValue<long>(CrmPrincipal.IssuedAtClaim, out var ms) ? ms : new DateTimeOffset(jwt.IssuedAt, TimeSpan.Zero).ToUnixTimeMilliseconds();
        ((ClaimsIdentity)principal.Identity!).AddClaim(new Claim(CrmPrincipal.IssuedAtClaim, issued.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return principal;
    }

    public void Dispose() => _loading.Dispose();

    /// <summary>Replaces the cluster's signing key with a new random one: every token signed before is refused, by this
    /// gateway at once and by every other within <see cref="KeyRefresh"/>. Sessions and bearer tokens must sign in
    /// again; API keys are not tokens and keep working.</summary>
    public async Task RotateAsync()
    {
        await _loading.WaitAsync();
        try
        {
            await CatalogDocuments.UpdateAsync<SigningKeyDocument>(cluster, CatalogKinds.SigningKey, _ => NewKey());
            _key = null;
        }
        finally
        {
            _loading.Release();
        }
    }

    private SigningKeyDocument NewKey() => new SigningKeyDocument(Convert.ToBase64String(RandomNumberGenerator.GetBytes(64)), clock.GetUtcNow());

    private async Task<SymmetricSecurityKey> KeyAsync()
    {
        if (_key is { } cached && clock.GetUtcNow() - cached.LoadedAt < KeyRefresh)
        {
            return cached.Key;
        }

        await _loading.WaitAsync();
        try
        {
            if (_key is { } again && clock.GetUtcNow() - again.LoadedAt < KeyRefresh)
            {
                return again.Key;
            }

            // The first gateway to need a key writes one; a concurrent writer's key wins the version race and is read back.
            await CatalogDocuments.UpdateAsync<SigningKeyDocument>(cluster, CatalogKinds.SigningKey, current =>
                current is not null ? null : NewKey());
            var stored = (await CatalogDocuments.ReadAsync<SigningKeyDocument>(cluster, CatalogKinds.SigningKey)).Document
                ?? throw new InvalidOperationException("The signing key could not be stored in the catalog.");
            var key = new SymmetricSecurityKey(Convert.FromBase64String(stored.Key)) { KeyId = stored.CreatedAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture) };
            _key = (key, clock.GetUtcNow());
            return key;
        }
        finally
        {
            _loading.Release();
        }
    }
}

/// <summary>The cluster's token signing key (base64 of 64 random bytes).</summary>
public sealed record SigningKeyDocument(string Key, DateTimeOffset CreatedAt);
