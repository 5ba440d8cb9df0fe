namespace OrleansCrm.Client;

/// <summary>How a <see cref="CrmClient"/> talks to the gateway.</summary>
public sealed record CrmClientOptions
{
    /// <summary>Bodies of known length up to this size are kept in memory so a retry can send them again; larger ones,
    /// and streams of unknown length (an import's file), go once.</summary>
    public const long MaxRetriedBody = 32L * 1024 * 1024;

    /// <summary>Retries after the first attempt of a repeatable request (<see cref="SafeRetryHandler"/>); 0 turns them off.</summary>
    public int MaxRetries { get; init; } = 4;

    /// <summary>The first retry's wait; each next one doubles it (or takes the answer's <c>Retry-After</c> when longer).</summary>
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest wait between two attempts; an answer asking for a longer one (<c>Retry-After</c>) is handed
    /// back to the caller.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a whole call may take, its retries and the waits between them included. Imports stream whole
    /// files: give them a client of their own with a longer one.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>The handler that reaches the network (a <see cref="SocketsHttpHandler"/> when null).</summary>
    public HttpMessageHandler? Transport { get; init; }
}
