using Orleans.Runtime;

namespace OrleansCrm.Telemetry;

/// <summary>
/// The correlation id of the request a piece of work serves: taken from the caller's <c>X-Correlation-Id</c> header
/// (or made by the gateway), carried to every grain the request reaches in Orleans' request context, and written on
/// every log line both sides write for it (property <c>CorrelationId</c>), so one id finds a request's trail across
/// the gateway and the silos.
/// </summary>
public static class Correlation
{
    /// <summary>The HTTP header a caller may send, and the gateway always answers with.</summary>
    public const string Header = "X-Correlation-Id";

    /// <summary>The log property.</summary>
    public const string LogProperty = "CorrelationId";

    /// <summary>The longest id the gateway takes from a caller.</summary>
    public const int MaxLength = 64;

    private const string ContextKey = "crm.correlation";

    /// <summary>The id of the request being served here, or null for work no request started (timers, reminders).</summary>
    public static string? Current => RequestContext.Get(ContextKey) as string;

    /// <summary>Makes <paramref name="id"/> travel with the grain calls made from here on in this flow.</summary>
    public static void Set(string id) => RequestContext.Set(ContextKey, id);

    /// <summary>A caller's id is taken as is when it is 1 to 64 letters, digits, '-', '_', '.' or ':' (so ids
    /// from other systems pass), and replaced otherwise: it ends up in logs, so nothing else is let through.</summary>
    public static bool IsAcceptable(string? id) =>
        !string.IsNullOrEmpty(id) && id.Length <= MaxLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');

    /// <summary>A fresh id: 32 hexadecimal digits.</summary>
    public static string NewId() => Ids.Random();
}
