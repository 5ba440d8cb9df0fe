namespace OrleansCrm.Access;

/// <summary>The roles a user or API key can hold; each endpoint names the roles it admits (gateway
/// <c>Access/EndpointPolicies.cs</c>).</summary>
public static class Roles
{
    public const string Agent = "agent";
    public const string CampaignManager = "campaignManager";
    public const string Analyst = "analyst";
    public const string PrivacyManager = "privacyManager";
    public const string Administrator = "administrator";
    public const string Integrator = "integrator";

    public static readonly string[] All = [Agent, CampaignManager, Analyst, PrivacyManager, Administrator, Integrator];

    /// <summary>The problem with a role list, or null when every role is known and there is at least one.</summary>
    public static string? Validate(string[]? roles)
    {
        if (roles is null || roles.Length == 0)
        {
            return $"at least one role is required ({string.Join(", ", All)})";
        }

        var unknown = roles.Where(r => !All.Contains(r, StringComparer.Ordinal)).ToList();
        return unknown.Count == 0 ? null : $"unknown role(s) {string.Join(", ", unknown.Select(r => $"\"{r}\""))}; use {string.Join(", ", All)}";
    }
}

/// <summary>
/// Organisation units are paths, group → province → local office: <c>""</c> (the whole organisation),
/// <c>nl</c>, <c>nl/north</c>, <c>nl/north/groningen</c>. A caller of unit U sees what belongs to U or below it.
/// </summary>
public static class OrgUnits
{
    public const int MaxLength = 200;

    /// <summary>The unit written canonically (trimmed, lower-case, no leading/trailing '/'); "" is the root.</summary>
    public static string Normalise(string? unit) =>
        string.Join('/', (unit ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToLowerInvariant();

    public static string? Validate(string? unit)
    {
        var normal = Normalise(unit);
        if (normal.Length > MaxLength)
        {
            return $"must be at most {MaxLength} characters";
        }

        return normal.Split('/', StringSplitOptions.RemoveEmptyEntries).All(part => part is not ("." or "..") && part.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            ? null
            : "must be a path of letters, digits, '-', '_' or '.' separated by '/', e.g. nl/north/groningen";
    }

    /// <summary>Whether <paramref name="unit"/> (of a customer, segment or campaign) lies in the subtree of
    /// <paramref name="scope"/> (the caller's unit).</summary>
    public static bool Contains(string scope, string? unit)
    {
        var s = Normalise(scope);
        var u = Normalise(unit);
        return s.Length == 0 || u == s || u.StartsWith(s + "/", StringComparison.Ordinal);
    }
}

/// <summary>A person who signs in. <see cref="PasswordHash"/> is ASP.NET Core Identity's versioned PBKDF2 format.</summary>
[GenerateSerializer, Immutable, Alias("crm.UserRecord")]
public sealed record UserRecord(
    string Login,
    string PasswordHash,
    string[] Roles,
    string OrgUnit,
    bool Enabled,
    DateTimeOffset CreatedAt,
    DateTimeOffset ChangedAt,
    DateTimeOffset? SessionsFrom = null);

/// <summary>An integrator's key. The secret is never stored: <see cref="SecretHash"/> is its SHA-256 (hex).</summary>
[GenerateSerializer, Immutable, Alias("crm.ApiKeyRecord")]
public sealed record ApiKeyRecord(
    string Id,
    string Name,
    string SecretHash,
    string[] Roles,
    string OrgUnit,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? RevokedAt);

/// <summary>One audit record: who (<see cref="Actor"/>, a login or <c>key:ID</c>) did what to which resource, and how
/// it ended (<see cref="Outcome"/>: allowed, refused, unauthenticated, not-found). <see cref="EntryId"/> is unique per
/// record (<see cref="NewId"/>), so a batch stored again after an attempt whose outcome was unknown adds nothing.</summary>
[GenerateSerializer, Immutable, Alias("crm.AuditEntry")]
public sealed record AuditEntry(
    DateTimeOffset At,
    string Actor,
    string Action,
    string Resource,
    string? CustomerId,
    int Status,
    string Outcome,
    string? RequestId,
    string? EntryId = null)
{
    /// <summary>Sequential per process (<see cref="Telemetry.Ids.Sequential"/>), so the unique index on record ids grows at
    /// its end: a read of a customer adds a record, and random ids cost the database a random page per record.</summary>
    public static string NewId() => Telemetry.Ids.Sequential();
}

[GenerateSerializer, Immutable, Alias("crm.AuditRecord")]
public sealed record AuditRecord(long Seq, AuditEntry Entry);

/// <summary>Users, API keys and the audit trail, kept in the cluster's database. Stateless: any silo answers.</summary>
[Alias("crm.IAccessGrain")]
public interface IAccessGrain : IGrainWithIntegerKey
{
    [Alias("FindUser")]
    Task<UserRecord?> FindUserAsync(string login);

    [Alias("ListUsers")]
    Task<UserRecord[]> ListUsersAsync();

    /// <summary>Inserts (<paramref name="create"/>) or replaces a user; false when the login is taken (create) or
    /// missing (replace).</summary>
    [Alias("SaveUser")]
    Task<bool> SaveUserAsync(UserRecord user, bool create);

    [Alias("FindApiKey")]
    Task<ApiKeyRecord?> FindApiKeyAsync(string id);

    [Alias("ListApiKeys")]
    Task<ApiKeyRecord[]> ListApiKeysAsync();

    [Alias("CreateApiKey")]
    Task CreateApiKeyAsync(ApiKeyRecord key);

    /// <summary>Marks the key revoked; false when there is no such key.</summary>
    [Alias("RevokeApiKey")]
    Task<bool> RevokeApiKeyAsync(string id, DateTimeOffset at);

    /// <summary>Appends audit records; returns after they are committed (group-committed with other callers').</summary>
    [Alias("AppendAudit")]
    Task AppendAuditAsync(AuditEntry[] entries);

    /// <summary>Audit records after sequence <paramref name="after"/>, oldest first, optionally for one actor or customer.</summary>
    [Alias("QueryAudit")]
    Task<AuditRecord[]> QueryAuditAsync(string? actor, string? customerId, long after, int limit);
}

/// <summary>Where users, keys and the audit trail are stored (the silo's ADO.NET store).</summary>
public interface IAccessStore
{
    Task<UserRecord?> FindUserAsync(string login);

    Task<UserRecord[]> ListUsersAsync();

    Task<bool> SaveUserAsync(UserRecord user, bool create);

    Task<ApiKeyRecord?> FindApiKeyAsync(string id);

    Task<ApiKeyRecord[]> ListApiKeysAsync();

    Task CreateApiKeyAsync(ApiKeyRecord key);

    Task<bool> RevokeApiKeyAsync(string id, DateTimeOffset at);

    Task AppendAuditAsync(IReadOnlyList<AuditEntry> entries);

    Task<AuditRecord[]> QueryAuditAsync(string? actor, string? customerId, long after, int limit);
}

/// <summary>What a login and a password must look like.</summary>
public static class Credentials
{
    public const int MinPasswordLength = 12;

    /// <summary>The longest login and password a sign-in reads (longer ones are refused before any work).</summary>
    public const int MaxLoginLength = 100;

    public const int MaxPasswordLength = 200;

    public static string? ValidateLogin(string? login) =>
        string.IsNullOrWhiteSpace(login) || login.Length > 100 || !login.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-' or '@')
            ? "must be 1-100 lower-case letters, digits, '.', '_', '-' or '@'"
            : null;

    public static string? ValidatePassword(string? password, string? login = null) =>
        password is null || password.Length < MinPasswordLength || password.Length > MaxPasswordLength ? $"must be {MinPasswordLength}-{MaxPasswordLength} characters"
        : password.Distinct().Count() < 4 ? "must use at least 4 different characters"
        : login is { Length: > 0 } && password.Contains(login, StringComparison.OrdinalIgnoreCase) ? "must not contain the login"
        : null;
}
