using OrleansCrm.Access;

namespace OrleansCrm.Gateway.Access;

/// <summary>Writes the gateway's audit records through the cluster (group-committed there) and waits for the commit.</summary>
public sealed class AuditTrail(IClusterClient cluster, TimeProvider clock)
{
    public Task RecordAsync(HttpContext http, string action, string? customerId, int status, string outcome) =>
        RecordAsync(http.User.Actor(), action, $"{http.Request.Method} {http.Request.Path}", customerId, status, outcome, http.TraceIdentifier);

    public Task RecordAsync(string actor, string action, string resource, string? customerId, int status, string outcome, string? requestId) =>
        cluster.GetGrain<IAccessGrain>(0).AppendAuditAsync([new AuditEntry(clock.GetUtcNow(), actor, action, resource, customerId, status, outcome, requestId)]);
}
