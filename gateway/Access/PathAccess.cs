using OrleansCrm.Access;

namespace OrleansCrm.Gateway.Access;

/// <summary>
/// The first gate: every API endpoint but signing in needs credentials (401) and one of the roles its
/// <see cref="EndpointPolicies"/> entry admits (403), both refused and audited before the body is read; the OpenAPI
/// document needs any credentials, the cluster dashboard an administrator. Health, signing in and the static screens
/// stay open. The organisation-unit checks follow in <see cref="AccessFilter"/>.
/// </summary>
public sealed class PathAccess(RequestDelegate next)
{
    /// <summary>The audit action of a request refused before any API endpoint was chosen (routing's 415 or 405).</summary>
    public const string RoutingRefusal = "RoutingRefusal";

    public async Task InvokeAsync(HttpContext http)
    {
        var path = http.Request.Path;
        var user = http.User;
        var name = http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
        if (path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase) && name is not (AccessEndpoints.IssueToken or AccessEndpoints.StartSession))
        {
            // Checked here, before the endpoint reads its body, so a caller without the right credentials learns nothing
            // from validation errors and costs no parsing. An unknown route falls through to the 404 it is.
            if (name is not null)
            {
                var policy = EndpointPolicies.Table.GetValueOrDefault(name) ?? new EndpointPolicy([], Scope.None, Audit.None);
                var customerId = http.Request.RouteValues.TryGetValue("customerId", out var c) ? c as string : null;
                if (user.Identity?.IsAuthenticated != true)
                {
                    await http.RequestServices.GetRequiredService<AuditTrail>().RecordAsync(http, name, customerId, 401, "unauthenticated");
                    await WriteAsync(http, 401, "Sign-in required", "Send a bearer token (POST /api/v1/auth/token), the session cookie, or an API key (X-Api-Key).");
                    return;
                }

                if (!EndpointPolicies.Admits(policy, user.RoleNames()))
                {
                    await http.RequestServices.GetRequiredService<AuditTrail>().RecordAsync(http, name, customerId, 403, "refused");
                    await WriteAsync(http, 403, "Not allowed", $"{name} needs one of the roles {string.Join(", ", policy.Roles.Append(Roles.Administrator))}.");
                    return;
                }
            }
            else if (http.GetEndpoint() is not null && user.Identity?.IsAuthenticated != true
                && !path.StartsWithSegments("/api/v1/auth", StringComparison.OrdinalIgnoreCase))
            {
                // Routing's own refusal of an API route (415 for a media type it does not read, 405 for a method):
                // credentials first there too, so a caller without them learns no more than from any other route.
                await http.RequestServices.GetRequiredService<AuditTrail>().RecordAsync(http, RoutingRefusal, null, 401, "unauthenticated");
                await WriteAsync(http, 401, "Sign-in required", "Send a bearer token (POST /api/v1/auth/token), the session cookie, or an API key (X-Api-Key).");
                return;
            }
        }

        var dashboard = path.StartsWithSegments("/dashboard", StringComparison.OrdinalIgnoreCase);
        var metrics = path.StartsWithSegments(Hosting.Metrics.Path, StringComparison.OrdinalIgnoreCase);
        if (dashboard || metrics || path.StartsWithSegments("/openapi", StringComparison.OrdinalIgnoreCase))
        {
            if (user.Identity?.IsAuthenticated != true)
            {
                await WriteAsync(http, 401, "Sign-in required", "Send a bearer token, the session cookie or an API key.");
                return;
            }

            if (dashboard && !user.IsInRole(Roles.Administrator))
            {
                await WriteAsync(http, 403, "Not allowed", "The cluster dashboard is for administrators.");
                return;
            }

            if (metrics && !user.IsInRole(Roles.Administrator) && !user.IsInRole(Roles.Integrator))
            {
                await WriteAsync(http, 403, "Not allowed", "Metrics are for administrators and integrators' monitoring keys.");
                return;
            }
        }

        await next(http);
    }

    private static Task WriteAsync(HttpContext http, int status, string title, string detail)
    {
        http.Response.StatusCode = status;
        return http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Title = title, Detail = detail },
        }).AsTask();
    }
}
