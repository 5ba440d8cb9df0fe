using Orleans.Concurrency;

namespace OrleansCrm.Access;

/// <summary>The gateway's way to users, keys and the audit trail. Stateless and reentrant: every call is a database
/// call, and audit appends from concurrent requests share one commit (see the store).</summary>
[StatelessWorker]
[Reentrant]
[GrainType("access")]
public sealed class AccessGrain(IAccessStore store) : Grain, IAccessGrain
{
    public Task<UserRecord?> FindUserAsync(string login) => store.FindUserAsync(login);

    public Task<UserRecord[]> ListUsersAsync() => store.ListUsersAsync();

    public Task<bool> SaveUserAsync(UserRecord user, bool create) => store.SaveUserAsync(user, create);

    public Task<ApiKeyRecord?> FindApiKeyAsync(string id) => store.FindApiKeyAsync(id);

    public Task<ApiKeyRecord[]> ListApiKeysAsync() => store.ListApiKeysAsync();

    public Task CreateApiKeyAsync(ApiKeyRecord key) => store.CreateApiKeyAsync(key);

    public Task<bool> RevokeApiKeyAsync(string id, DateTimeOffset at) => store.RevokeApiKeyAsync(id, at);

    public Task AppendAuditAsync(AuditEntry[] entries) => store.AppendAuditAsync(entries);

    public Task<AuditRecord[]> QueryAuditAsync(string? actor, string? customerId, long after, int limit) =>
        store.QueryAuditAsync(actor, customerId, after, limit);
}
