using System.Security.Claims;
using OrleansCrm.Access;

namespace OrleansCrm.Gateway.Access;

/// <summary>The claims a signed-in user or an API key carries, and how to read them back.</summary>
public static class CrmPrincipal
{
    public const string Scheme = "crm";
    public const string OrgUnitClaim = "org";
    public const string KindClaim = "kind";

    /// <summary>When a token was issued, in Unix milliseconds (finer than the JWT's <c>iat</c> seconds): tokens issued
    /// before a user's <c>SessionsFrom</c> are refused.</summary>
    public const string IssuedAtClaim = "iat_ms";

    /// <summary>The session cookie the web screens use; it holds the same token the API hands out.</summary>
    public const string SessionCookie = "crm_session";

    public static ClaimsPrincipal Create(string name, string kind, IEnumerable<string> roles, string orgUnit)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name), new(KindClaim, kind), new(OrgUnitClaim, OrgUnits.Normalise(orgUnit)) };
        claims.AddRange(roles.Select(r => new Claim(ClaimTypes.Role, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme, ClaimTypes.Name, ClaimTypes.Role));
    }

    /// <summary>The login of a user, <c>key:ID</c> of an API key, or <c>anonymous</c>.</summary>
    public static string Actor(this ClaimsPrincipal user) => user.Identity?.IsAuthenticated == true ? user.Identity.Name ?? "anonymous" : "anonymous";

    public static string OrgUnit(this ClaimsPrincipal user) => user.FindFirstValue(OrgUnitClaim) ?? "";

    /// <summary>When the caller's token was issued, or null for an API key.</summary>
    public static DateTimeOffset? IssuedAt(this ClaimsPrincipal user) =>
        long.TryParse(user.FindFirstValue(IssuedAtClaim), System.Globalization.CultureInfo.InvariantCulture, out var ms) ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    public static string[] RoleNames(this ClaimsPrincipal user) => [.. user.FindAll(ClaimTypes.Role).Select(c => c.Value)];

    /// <summary>Whether the caller's subtree holds <paramref name="unit"/>.</summary>
    public static bool Sees(this ClaimsPrincipal user, string? unit) => OrgUnits.Contains(user.OrgUnit(), unit);
}
