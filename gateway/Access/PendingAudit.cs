using OrleansCrm.Access;

namespace OrleansCrm.Gateway.Access;

/// <summary>
/// The audit record of a change that succeeds, prepared by <see cref="AccessFilter"/> before the endpoint runs. An
/// endpoint whose grain can store it with the change itself (the customer's group commit) hands <see cref="Entry"/> to
/// the grain and calls <see cref="MarkStored"/>; the filter then has nothing left to write. Otherwise (the endpoint
/// does not take it, or the change failed) the filter writes the record through <see cref="AuditTrail"/> as before.
/// Either way the record is durable before the answer leaves.
/// </summary>
public sealed class PendingAudit(AuditEntry entry)
{
    private static readonly object Key = new();

    /// <summary>The record as it reads when the endpoint answers <see cref="StatusCodes.Status200OK"/>.</summary>
    public AuditEntry Entry { get; } = entry;

    public bool Stored { get; private set; }

    public void MarkStored() => Stored = true;

    public static PendingAudit? Of(HttpContext http) => http.Items.TryGetValue(Key, out var value) ? value as PendingAudit : null;

    public static void Attach(HttpContext http, PendingAudit pending) => http.Items[Key] = pending;
}
