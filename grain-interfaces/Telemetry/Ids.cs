using System.Security.Cryptography;

namespace OrleansCrm.Telemetry;

/// <summary>
/// Ids made on every request without a system call each. <see cref="Guid.NewGuid"/> asks the kernel for random bytes
/// on every call on Linux, which a profile of the customer view showed as one of its larger costs (two per request).
/// </summary>
public static class Ids
{
    /// <summary>Chosen once per process from the secure generator; with the counter it makes <see cref="Sequential"/>
    /// unique across processes (two processes collide only if their 64 random bits do).</summary>
    private static readonly ulong ProcessPrefix = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));

    private static long _counter;

    [ThreadStatic]
    private static byte[]? _pool;

    [ThreadStatic]
    private static int _taken;

    /// <summary>32 hexadecimal digits: this process's random prefix, then a counter. Ids of one process sort in the order
    /// they were made, so an index over them grows at its end (the audit trail's record ids) rather than at random.</summary>
    public static string Sequential()
    {
        var n = (ulong)Interlocked.Increment(ref _counter);
        return string.Create(32, n, static (span, count) =>
        {
            ProcessPrefix.TryFormat(span[..16], out _, "x16");
            count.TryFormat(span[16..], out _, "x16");
        });
    }

    /// <summary>32 hexadecimal digits of secure randomness (like a GUID's "N" form), drawn from a per-thread pool
    /// refilled every 256 ids: unpredictable, for ids shown to callers.</summary>
    public static string Random()
    {
        var pool = _pool ??= new byte[4096];
        if (_taken == 0 || _taken + 16 > pool.Length)
        {
            RandomNumberGenerator.Fill(pool);
            _taken = 0;
        }

        var id = Convert.ToHexStringLower(pool, _taken, 16);
        pool.AsSpan(_taken, 16).Clear();
        _taken += 16;
        return id;
    }
}
