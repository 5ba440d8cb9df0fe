using Scalar.AspNetCore;

namespace OrleansCrm.Gateway.Api;

/// <summary>The interactive API reference (Scalar) at <c>/docs</c>, over the OpenAPI document. Everything it needs is
/// served by the gateway itself (the script is embedded in the package; the CDN fonts, telemetry, the hosted
/// agent and the toolbar of Scalar's hosted services are switched off), so it works on a network with no way out.</summary>
public static class ApiReference
{
    public const string Path = "/docs";

    public static IEndpointRouteBuilder MapCrmApiReference(this IEndpointRouteBuilder app)
    {
        app.MapScalarApiReference(Path, o => o
            .WithTitle("OrleansCrm API")
            .WithOpenApiRoutePattern("/openapi/{documentName}.json")
            .DisableDefaultFonts()
            .DisableTelemetry()
            .DisableAgent()
            .DisableMcp()
            .HideDeveloperTools())
            .ExcludeFromDescription();
        return app;
    }
}
