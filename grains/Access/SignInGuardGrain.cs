namespace OrleansCrm.Access;

/// <summary>One login's failed sign-ins (<see cref="ISignInGuardGrain"/>); in memory, and gone when idle for an hour.</summary>
[GrainType("sign-in-guard")]
public sealed class SignInGuardGrain(TimeProvider clock) : Grain, ISignInGuardGrain
{
    private int _failures;
    private DateTimeOffset _lastFailure;
    private DateTimeOffset _lockedUntil;

    public Task<TimeSpan?> LockedForAsync() => Task.FromResult(Remaining(clock.GetUtcNow()));

    public Task<TimeSpan?> FailedAsync()
    {
        var now = clock.GetUtcNow();
        if (now - _lastFailure > SignInGuard.Window)
        {
            _failures = 0;
        }

        _failures++;
        _lastFailure = now;
        var lockFor = SignInGuard.LockAfter(_failures);
        if (lockFor > TimeSpan.Zero)
        {
            _lockedUntil = now + lockFor;
        }

        // Kept while it matters: a lock, or failures that still count.
        DelayDeactivation(SignInGuard.Window);
        return Task.FromResult(Remaining(now));
    }

    public Task SucceededAsync()
    {
        _failures = 0;
        _lockedUntil = default;
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    private TimeSpan? Remaining(DateTimeOffset now) => _lockedUntil > now ? _lockedUntil - now : null;
}
