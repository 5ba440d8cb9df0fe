using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using OrleansCrm.Access;
using OrleansCrm.Gateway.Hosting;

namespace OrleansCrm.Gateway.Access;

/// <summary>Sign-in (token and web session), the caller's identity, users, API keys and the audit trail.</summary>
public static class AccessEndpoints
{
    public const string IssueToken = "IssueToken";
    public const string StartSession = "StartSession";
    private static readonly PasswordHasher<UserRecord> Hasher = new();

    /// <summary>Hash of a password nobody has, verified when the login is unknown so that both cases take as long.</summary>
    private static readonly string DecoyHash = Hasher.HashPassword(null!, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)));

    /// <summary>The endpoints that answer without credentials: signing in.</summary>
    public static IEndpointRouteBuilder MapSignInEndpoints(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/v1/auth").WithTags("Access");
        auth.MapPost("/token", (SignInRequest? body, HttpContext http) => SignInAsync(body, http, cookie: false))
            .WithName(IssueToken).WithSummary("Exchange a login and password for a bearer token");
        auth.MapPost("/session", (SignInRequest? body, HttpContext http) => SignInAsync(body, http, cookie: true))
            .WithName(StartSession).WithSummary("Sign in for the web screens: the token comes back as an HttpOnly cookie");
        return app;
    }

    /// <summary>The endpoints behind the access filter.</summary>
    public static IEndpointRouteBuilder MapAccessEndpoints(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/v1/auth").WithTags("Access");
        auth.MapGet("/me", (ClaimsPrincipal user) => TypedResults.Ok(new CallerView(user.Actor(), user.RoleNames(), user.OrgUnit())))
            .WithName("WhoAmI").WithSummary("Who the credentials belong to: login, roles, organisation unit");
        auth.MapDelete("/session", async (HttpContext http, IClusterClient cluster, TimeProvider clock, ApiKeys keys) =>
        {
            http.Response.Cookies.Delete(CrmPrincipal.SessionCookie, CookieOptions(http, null));
            if (http.User.IssuedAt() is not null && await cluster.GetGrain<IAccessGrain>(0).FindUserAsync(http.User.Actor()) is { } user)
            {
                // The token itself is refused from now on (on every gateway within the user cache's 30 s), and so is
                // every other token or session of this user issued before: signing out signs out everywhere.
                var now = clock.GetUtcNow();
                await cluster.GetGrain<IAccessGrain>(0).SaveUserAsync(user with { SessionsFrom = now, ChangedAt = now }, create: false);
                keys.ForgetUser(user.Login);
            }

            return TypedResults.NoContent();
        }).WithName("EndSession").WithSummary("Sign out: ends the web session and every token of the user issued before now");

        var users = app.MapGroup("/api/v1/users").WithTags("Access");
        users.MapGet("/", async (IClusterClient cluster) => TypedResults.Ok((await cluster.GetGrain<IAccessGrain>(0).ListUsersAsync()).Select(UserView.Of)))
            .WithName("ListUsers").WithSummary("Every user (never their passwords)");
        users.MapPost("/", CreateUserAsync).WithName("CreateUser").WithSummary("Add a user with roles and an organisation unit");
        users.MapPut("/{login}", ChangeUserAsync).WithName("ChangeUser").WithSummary("Change a user's password, roles, unit or whether it may sign in");

        var keys = app.MapGroup("/api/v1/api-keys").WithTags("Access");
        keys.MapGet("/", async (IClusterClient cluster) => TypedResults.Ok((await cluster.GetGrain<IAccessGrain>(0).ListApiKeysAsync()).Select(KeyView.Of)))
            .WithName("ListApiKeys").WithSummary("Every API key (never their secrets)");
        keys.MapPost("/", CreateKeyAsync).WithName("CreateApiKey").WithSummary("Make an API key for an integrator; the key is shown once, in this answer");
        keys.MapDelete("/{keyId}", RevokeKeyAsync).WithName("RevokeApiKey").WithSummary("Revoke an API key (refused everywhere within 30 s)");

        app.MapPost("/api/v1/signing-key/rotate", async (TokenService tokens) =>
            {
                await tokens.RotateAsync();
                return TypedResults.NoContent();
            })
            .WithTags("Access").WithName("RotateSigningKey")
            .WithSummary("Replace the token signing key: every bearer token and session signed before is refused (within a minute on other gateways)");

        app.MapGet("/api/v1/audit", QueryAuditAsync).WithTags("Access").WithName("QueryAudit")
            .WithSummary("The audit trail, oldest first, for one actor or one customer; pass next back as after");
        return app;
    }

    private static async Task<Results<Ok<SignedIn>, ValidationProblem, ProblemHttpResult>> SignInAsync(SignInRequest? body, HttpContext http, bool cookie)
    {
        if (string.IsNullOrWhiteSpace(body?.Login) || string.IsNullOrEmpty(body.Password))
        {
            return Problems.Invalid(string.IsNullOrWhiteSpace(body?.Login) ? "login" : "password", "is required");
        }

        // Bounded before anything is looked up, hashed or written to the audit trail.
        if (body.Login.Length > Credentials.MaxLoginLength)
        {
            return Problems.Invalid("login", $"must be at most {Credentials.MaxLoginLength} characters");
        }

        if (body.Password.Length > Credentials.MaxPasswordLength)
        {
            return Problems.Invalid("password", $"must be at most {Credentials.MaxPasswordLength} characters");
        }

        var services = http.RequestServices;
        var login = body.Login.Trim().ToLowerInvariant();
        var cluster = services.GetRequiredService<IClusterClient>();
        var audit = services.GetRequiredService<AuditTrail>();
        var throttle = services.GetRequiredService<SignInThrottle>();
        var guard = cluster.GetGrain<ISignInGuardGrain>(login);
        var client = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if ((throttle.BlockedFor(client) ?? await guard.LockedForAsync()) is { } wait)
        {
            // Locked (this login failed too often) or throttled (this client failed too often): the same answer
            // whether or not the login exists, and the password is not even checked.
            await audit.RecordAsync(login, "SignIn", $"{http.Request.Method} {http.Request.Path}", null, 429, "locked", http.TraceIdentifier);
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return TypedResults.Problem(title: "Too many failed sign-ins", detail: "Wait before trying again.", statusCode: StatusCodes.Status429TooManyRequests);
        }

        var user = await cluster.GetGrain<IAccessGrain>(0).FindUserAsync(login);
        var verdict = Hasher.VerifyHashedPassword(user!, user?.PasswordHash ?? DecoyHash, body.Password);
        if (user is not { Enabled: true } || verdict == PasswordVerificationResult.Failed)
        {
            await guard.FailedAsync();
            throttle.Failed(client);
            await audit.RecordAsync(login, "SignIn", $"{http.Request.Method} {http.Request.Path}", null, 401, "refused", http.TraceIdentifier);
            return TypedResults.Problem(title: "Sign-in failed", detail: "The login or password is wrong, or the user may not sign in.", statusCode: StatusCodes.Status401Unauthorized);
        }

        await guard.SucceededAsync();
        var (token, expires) = await services.GetRequiredService<TokenService>().IssueAsync(user.Login, "user", user.Roles, user.OrgUnit);
        await audit.RecordAsync(user.Login, "SignIn", $"{http.Request.Method} {http.Request.Path}", null, 200, "allowed", http.TraceIdentifier);
        if (cookie)
        {
            http.Response.Cookies.Append(CrmPrincipal.SessionCookie, token, CookieOptions(http, expires));
        }

        return TypedResults.Ok(new SignedIn(cookie ? null : token, cookie ? null : "Bearer", expires, user.Login, user.Roles, user.OrgUnit));
    }

    private static CookieOptions CookieOptions(HttpContext http, DateTimeOffset? expires) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = http.Request.IsHttps,
        Path = "/",
        Expires = expires,
    };

    private static async Task<Results<Created<UserView>, ValidationProblem, ProblemHttpResult>> CreateUserAsync(NewUser? body, IClusterClient cluster, TimeProvider clock)
    {
        if (body is null)
        {
            return Problems.Invalid("body", "a JSON object with login, password, roles and orgUnit is required");
        }

        if (Credentials.ValidateLogin(body.Login) is { } loginProblem)
        {
            return Problems.Invalid("login", loginProblem);
        }

        if (Credentials.ValidatePassword(body.Password, body.Login) is { } passwordProblem)
        {
            return Problems.Invalid("password", passwordProblem);
        }

        if (Roles.Validate(body.Roles) is { } rolesProblem)
        {
            return Problems.Invalid("roles", rolesProblem);
        }

        if (OrgUnits.Validate(body.OrgUnit) is { } unitProblem)
        {
            return Problems.Invalid("orgUnit", unitProblem);
        }

        var now = clock.GetUtcNow();
        var user = new UserRecord(body.Login!, Hasher.HashPassword(null!, body.Password!), body.Roles!.Distinct().ToArray(), OrgUnits.Normalise(body.OrgUnit), true, now, now);
        return await cluster.GetGrain<IAccessGrain>(0).SaveUserAsync(user, create: true)
            ? TypedResults.Created($"/api/v1/users/{user.Login}", UserView.Of(user))
            : TypedResults.Problem(title: "Login taken", detail: $"A user '{user.Login}' exists already.", statusCode: StatusCodes.Status409Conflict);
    }

    private static async Task<Results<Ok<UserView>, ValidationProblem, ProblemHttpResult>> ChangeUserAsync(string login, UserChange? body, IClusterClient cluster, TimeProvider clock, ApiKeys keys)
    {
        if (body is null)
        {
            return Problems.Invalid("body", "a JSON object with the fields to change is required");
        }

        if (body.Password is not null && Credentials.ValidatePassword(body.Password, login) is { } passwordProblem)
        {
            return Problems.Invalid("password", passwordProblem);
        }

        if (body.Roles is not null && Roles.Validate(body.Roles) is { } rolesProblem)
        {
            return Problems.Invalid("roles", rolesProblem);
        }

        if (body.OrgUnit is not null && OrgUnits.Validate(body.OrgUnit) is { } unitProblem)
        {
            return Problems.Invalid("orgUnit", unitProblem);
        }

        var access = cluster.GetGrain<IAccessGrain>(0);
        if (await access.FindUserAsync(login) is not { } user)
        {
            return TypedResults.Problem(title: "User not found", detail: $"No user '{login}'.", statusCode: StatusCodes.Status404NotFound);
        }

        var changed = user with
        {
            PasswordHash = body.Password is null ? user.PasswordHash : Hasher.HashPassword(null!, body.Password),
            Roles = body.Roles?.Distinct().ToArray() ?? user.Roles,
            OrgUnit = body.OrgUnit is null ? user.OrgUnit : OrgUnits.Normalise(body.OrgUnit),
            Enabled = body.Enabled ?? user.Enabled,
            ChangedAt = clock.GetUtcNow(),

            // A new password or a disabled user ends every session and token issued before.
            SessionsFrom = body.Password is not null || body.Enabled == false ? clock.GetUtcNow() : user.SessionsFrom,
        };
        await access.SaveUserAsync(changed, create: false);
        keys.ForgetUser(login);
        return TypedResults.Ok(UserView.Of(changed));
    }

    private static async Task<Results<Created<NewKeyView>, ValidationProblem>> CreateKeyAsync(NewKey? body, IClusterClient cluster, TimeProvider clock, ClaimsPrincipal caller)
    {
        if (string.IsNullOrWhiteSpace(body?.Name) || body.Name.Length > 200)
        {
            return Problems.Invalid("name", "is required, at most 200 characters");
        }

        if (Roles.Validate(body.Roles) is { } rolesProblem)
        {
            return Problems.Invalid("roles", rolesProblem);
        }

        if (OrgUnits.Validate(body.OrgUnit) is { } unitProblem)
        {
            return Problems.Invalid("orgUnit", unitProblem);
        }

        var (id, secret, hash) = ApiKeys.NewKey();
        var key = new ApiKeyRecord(id, body.Name.Trim(), hash, body.Roles!.Distinct().ToArray(), OrgUnits.Normalise(body.OrgUnit), caller.Actor(), clock.GetUtcNow(), null);
        await cluster.GetGrain<IAccessGrain>(0).CreateApiKeyAsync(key);
        return TypedResults.Created($"/api/v1/api-keys/{id}", new NewKeyView(KeyView.Of(key), secret));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeKeyAsync(string keyId, IClusterClient cluster, TimeProvider clock, ApiKeys keys)
    {
        if (!await cluster.GetGrain<IAccessGrain>(0).RevokeApiKeyAsync(keyId, clock.GetUtcNow()))
        {
            return TypedResults.Problem(title: "API key not found", detail: $"No API key '{keyId}'.", statusCode: StatusCodes.Status404NotFound);
        }

        keys.Forget(keyId);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<AuditPage>, ValidationProblem>> QueryAuditAsync(IClusterClient cluster, string? actor = null, string? customerId = null, long after = 0, int limit = 100)
    {
        if (limit is < 1 or > 1000)
        {
            return Problems.Invalid("limit", "must be 1-1000");
        }

        if (after < 0)
        {
            return Problems.Invalid("after", "must be 0 or a next value from an earlier page");
        }

        var records = await cluster.GetGrain<IAccessGrain>(0).QueryAuditAsync(
            string.IsNullOrWhiteSpace(actor) ? null : actor, string.IsNullOrWhiteSpace(customerId) ? null : customerId, after, limit);
        return TypedResults.Ok(new AuditPage(records, records.Length == limit ? records[^1].Seq : null));
    }

    public sealed record SignInRequest(string? Login, string? Password);

    public sealed record SignedIn(string? Token, string? TokenType, DateTimeOffset ExpiresAt, string Login, string[] Roles, string OrgUnit);

    public sealed record CallerView(string Login, string[] Roles, string OrgUnit);

    public sealed record NewUser(string? Login, string? Password, string[]? Roles, string? OrgUnit);

    public sealed record UserChange(string? Password, string[]? Roles, string? OrgUnit, bool? Enabled);

    public sealed record UserView(string Login, string[] Roles, string OrgUnit, bool Enabled, DateTimeOffset CreatedAt, DateTimeOffset ChangedAt)
    {
        public static UserView Of(UserRecord u) => new(u.Login, u.Roles, u.OrgUnit, u.Enabled, u.CreatedAt, u.ChangedAt);
    }

    public sealed record NewKey(string? Name, string[]? Roles, string? OrgUnit);

    public sealed record KeyView(string Id, string Name, string[] Roles, string OrgUnit, string CreatedBy, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
    {
        public static KeyView Of(ApiKeyRecord k) => new(k.Id, k.Name, k.Roles, k.OrgUnit, k.CreatedBy, k.CreatedAt, k.RevokedAt);
    }

    public sealed record NewKeyView(KeyView Key, string Secret);

    public sealed record AuditPage(AuditRecord[] Records, long? Next);
}
