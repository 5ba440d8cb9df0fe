using System.Collections.Concurrent;

namespace OrleansCrm.Gateway.Access;

/// <summary>
/// Failed sign-ins per client address on this gateway: after <see cref="FreeFailures"/> failures within
/// <see cref="Window"/> the address is refused (429) until the window has passed. With the per-login lock
/// (<see cref="OrleansCrm.Access.ISignInGuardGrain"/>) this stops both guessing one login's password and trying one
/// password against many logins. Bounded: at most <see cref="MaxAddresses"/> addresses are tracked.
/// </summary>
public sealed class SignInThrottle(TimeProvider clock)
{
    public const int FreeFailures = 30;
    public const int MaxAddresses = 100_000;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, (int Failures, DateTimeOffset Since)> _failures = new(StringComparer.Ordinal);

    /// <summary>How long the address must still wait, or null.</summary>
    public TimeSpan? BlockedFor(string address)
    {
        var now = clock.GetUtcNow();
        return _failures.TryGetValue(address, out var entry) && entry.Failures >= FreeFailures && now - entry.Since < Window
            ? Window - (now - entry.Since)
            : null;
    }

    public void Failed(string address)
    {
        var now = clock.GetUtcNow();
        if (_failures.Count >= MaxAddresses)
        {
            foreach (var (key, value) in _failures)
            {
                if (now - value.Since >= Window)
                {
                    _failures.TryRemove(key, out _);
                }
            }
        }

        _failures.AddOrUpdate(address, _ => (1, now), (_, e) => now - e.Since >= Window ? (1, now) : (e.Failures + 1, e.Since));
    }
}
