using System.Text.RegularExpressions;

namespace OrleansCrm.Client;

/// <summary>What the client needs to know of a request's route, read relative to the gateway's base address (which
/// may sit under a path prefix behind a proxy).</summary>
public static partial class ApiRoutes
{
    /// <summary>The request's path below <paramref name="baseUrl"/> (<c>/api/v1/…</c>), or null when it is not below it.</summary>
    public static string? Relative(Uri baseUrl, Uri? request)
    {
        if (request is null)
        {
            return null;
        }

        var prefix = baseUrl.AbsolutePath.TrimEnd('/');
        var path = request.AbsolutePath;
        return path.StartsWith(prefix + "/", StringComparison.OrdinalIgnoreCase) ? path[prefix.Length..] : null;
    }

    /// <summary>POSTs that are safe to run twice by their content: events and batches (each event's id makes a repeat
    /// a duplicate), imports (row content gives the ids) and a segment preview (a read).</summary>
    public static bool IdempotentByContent(string path) => ContentIdempotent().IsMatch(path);

    /// <summary>Signing in: no key, and nothing to retry but a refused budget.</summary>
    public static bool SigningIn(string path) => path.StartsWith("/api/v1/auth/", StringComparison.OrdinalIgnoreCase);

    /// <summary>A customer's profile PUT, whose <c>Idempotency-Key</c> is the change's id.</summary>
    public static bool ProfilePut(string path) => ProfilePath().IsMatch(path);

    [GeneratedRegex("^/api/v1/(customers/[^/]+/events|events|imports/(customers|transactions|events)|segments/preview)$", RegexOptions.IgnoreCase)]
    private static partial Regex ContentIdempotent();

    [GeneratedRegex("^/api/v1/customers/[^/]+$", RegexOptions.IgnoreCase)]
    private static partial Regex ProfilePath();
}
