namespace OrleansCrm.Api;

/// <summary>Which customers each kept <c>Idempotency-Key</c> answer is about (<c>crm_kept_answer_subjects</c>), so an
/// erasure can make every answer that may hold the erased person's data be forgotten (docs/privacy.md).</summary>
public interface IKeptAnswerIndex
{
    /// <summary>Notes that the answer kept by the idempotency grain <paramref name="grainKey"/> until
    /// <paramref name="expiresAt"/> is about <paramref name="customerIds"/>.</summary>
    Task AddAsync(string grainKey, IReadOnlyCollection<string> customerIds, DateTimeOffset expiresAt);

    /// <summary>The idempotency grains whose kept answers are about any of <paramref name="customerIds"/>.</summary>
    Task<IReadOnlyList<string>> KeysForAsync(IReadOnlyCollection<string> customerIds);

    /// <summary>Drops the notes of the answer kept by <paramref name="grainKey"/> (it expired or was forgotten).</summary>
    Task RemoveKeyAsync(string grainKey);
}
