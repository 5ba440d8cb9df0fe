namespace OrleansCrm.Access;

/// <summary>
/// Failed sign-ins of one login (grain key: the login as typed, trimmed and lower-case), across every gateway of the
/// cluster: after <see cref="SignInGuard.FreeFailures"/> failures in a row the login is locked for a while that doubles
/// with each further failure, up to <see cref="SignInGuard.LongestLock"/>. A login that does not exist is guarded the
/// same way, so the answers say nothing about which logins exist. Held in memory: a restart forgets it.
/// </summary>
[Alias("crm.ISignInGuardGrain")]
public interface ISignInGuardGrain : IGrainWithStringKey
{
    /// <summary>How long the login is still locked, or null when an attempt may be made now.</summary>
    [Alias("LockedFor")]
    Task<TimeSpan?> LockedForAsync();

    /// <summary>Notes a failed attempt; answers how long the login is locked from now (null when not locked).</summary>
    [Alias("Failed")]
    Task<TimeSpan?> FailedAsync();

    /// <summary>A successful sign-in: the count starts again.</summary>
    [Alias("Succeeded")]
    Task SucceededAsync();
}

public static class SignInGuard
{
    /// <summary>Failures in a row a login may have before it is locked.</summary>
    public const int FreeFailures = 5;

    /// <summary>The first lock; each further failure doubles it.</summary>
    public static readonly TimeSpan FirstLock = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan LongestLock = TimeSpan.FromMinutes(15);

    /// <summary>Failures older than this are forgotten.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromHours(1);

    /// <summary>The lock after <paramref name="failures"/> failures in a row, or zero.</summary>
    public static TimeSpan LockAfter(int failures) => failures < FreeFailures
        ? TimeSpan.Zero
        : TimeSpan.FromTicks(Math.Min(LongestLock.Ticks, FirstLock.Ticks << Math.Min(failures - FreeFailures, 20)));
}
