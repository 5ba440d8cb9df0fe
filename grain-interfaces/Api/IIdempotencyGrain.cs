namespace OrleansCrm.Api;

/// <summary>
/// One idempotency key of one caller (grain key: <see cref="IdempotencyKeys.GrainKey"/>): the first request that
/// used it, while it runs and then its answer for <see cref="IdempotencyKeys.Retention"/>. One activation in the
/// cluster, so every gateway sees the same record.
/// </summary>
[Alias("crm.IIdempotencyGrain")]
public interface IIdempotencyGrain : IGrainWithStringKey
{
    /// <summary>
    /// Claims the key for a request: <see cref="IdempotencyStatus.Started"/> (the caller runs the request and then
    /// calls <see cref="CompleteAsync(Guid, string, KeptResponse)"/> or <see cref="ReleaseAsync"/> with the returned attempt id),
    /// <see cref="IdempotencyStatus.Running"/> (another request holds it) or <see cref="IdempotencyStatus.Completed"/>
    /// (with the kept answer and the body hash of the first request).
    /// </summary>
    [Alias("Begin")]
    Task<IdempotencyClaim> BeginAsync();

    /// <summary>Keeps the answer of the attempt that holds the key, with the hash of its request body.</summary>
    [Alias("Complete")]
    Task CompleteAsync(Guid attempt, string requestHash, KeptResponse response);

    /// <summary>As <see cref="CompleteAsync(Guid, string, KeptResponse)"/>, noting that the answer is about
    /// <paramref name="customerIds"/>: erasing one of them makes the answer be forgotten.</summary>
    [Alias("CompleteAbout")]
    Task CompleteAsync(Guid attempt, string requestHash, KeptResponse response, string[] customerIds);

    /// <summary>Forgets the kept answer (a customer it is about was erased); a repeat of the key then runs as new.</summary>
    [Alias("Forget")]
    Task ForgetAsync();

    /// <summary>Gives the key up (the request failed with an unknown outcome), so a retry runs again.</summary>
    [Alias("Release")]
    Task ReleaseAsync(Guid attempt);
}

[GenerateSerializer, Alias("crm.IdempotencyStatus")]
public enum IdempotencyStatus
{
    Started,
    Running,
    Completed,
}

[GenerateSerializer, Immutable, Alias("crm.IdempotencyClaim")]
public sealed record IdempotencyClaim(IdempotencyStatus Status, Guid Attempt, string? RequestHash, KeptResponse? Response);

/// <summary>An answer as it was sent: status, content type and body.</summary>
[GenerateSerializer, Immutable, Alias("crm.KeptResponse")]
public sealed record KeptResponse(int StatusCode, string? ContentType, byte[] Body);

public static class IdempotencyKeys
{
    /// <summary>How long an answer is kept.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    /// <summary>How long a started request may hold its key before a new request may take it over (a gateway that
    /// died mid-request never completes or releases).</summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromMinutes(10);

    /// <summary>The grain key of <paramref name="key"/> used by <paramref name="principal"/>; the principal's length
    /// comes first so no two (principal, key) pairs share a grain.</summary>
    public static string GrainKey(string principal, string key) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{principal.Length}:{principal}:{key}");
}
