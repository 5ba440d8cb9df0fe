using OrleansCrm.Gateway.Access;

namespace OrleansCrm.Gateway.Hosting;

/// <summary>
/// What a browser is told and what it may not do: every answer says not to sniff its type, not to be framed and to send
/// the referrer only to this origin; the screens run under a Content-Security-Policy that allows only their own files
/// (no inline script or style), API answers under one that allows nothing. A request that changes something is
/// refused (403) when it comes from another origin — another port or a sibling subdomain is another origin though the
/// <c>SameSite</c> session cookie travels to it — or, riding on the session cookie, names no origin at all.
/// </summary>
public sealed class BrowserDefenses(RequestDelegate next)
{
    public const string ScreensPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

    public const string ApiPolicy = "default-src 'none'; frame-ancestors 'none'";

    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "same-origin";
            // The API reference and the Orleans dashboard bring their own scripts; everything else gets a policy.
            if (!path.StartsWithSegments("/docs") && !path.StartsWithSegments("/dashboard"))
            {
                headers.ContentSecurityPolicy = path.StartsWithSegments("/api") || path.StartsWithSegments("/openapi") ? ApiPolicy : ScreensPolicy;
            }

            return Task.CompletedTask;
        });

        if (IsChange(context.Request.Method) && path.StartsWithSegments("/api") && CrossOrigin(context.Request) is { } why)
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await Results.Problem(title: "Cross-origin request refused", detail: why, statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    private static bool IsChange(string method) =>
        !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method));

    /// <summary>Why the request is refused as coming from another origin, or null.</summary>
    public static string? CrossOrigin(HttpRequest request)
    {
        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0)
        {
            return SameOrigin(origin, request) ? null : $"Origin '{Shorten(origin)}' is not this site's origin.";
        }

        // No Origin: integrators' clients send none and present a key or a token, which no other site can make a
        // browser send. Only the session cookie rides along by itself, so a cookie-only change must say where it came
        // from (browsers send Origin on every such request; the Referer is the fallback).
        var cookieOnly = request.Cookies.ContainsKey(CrmPrincipal.SessionCookie)
            && request.Headers.Authorization.Count == 0 && !request.Headers.ContainsKey("X-Api-Key");
        if (!cookieOnly)
        {
            return null;
        }

        var referer = request.Headers.Referer.ToString();
        return referer.Length > 0 && SameOrigin(referer, request)
            ? null
            : "A change made with the session cookie must come from this site's own pages (Origin or Referer).";
    }

    private static bool SameOrigin(string url, HttpRequest request) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme is "http" or "https")
        && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);

    private static string Shorten(string text) => text.Length <= 100 ? text : text[..100] + "…";
}
