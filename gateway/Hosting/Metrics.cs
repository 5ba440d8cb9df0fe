using OpenTelemetry.Metrics;
using OrleansCrm.Hosting.Configuration;

namespace OrleansCrm.Gateway.Hosting;

/// <summary>
/// Metrics through OpenTelemetry, scraped by Prometheus at <c>/metrics</c> (administrators and integrators: send the
/// API key as <c>Authorization: ApiKey …</c>): ASP.NET Core's request rates and durations at the gateway, Orleans'
/// grain calls, activations and messaging (meter <c>Microsoft.Orleans</c>; in a silo that hosts the gateway these are
/// the silo's), .NET runtime counters, and the CRM's own (meter <c>OrleansCrm</c>: storage latency, events, segment
/// joins and leaves, campaign decisions and actions).
/// </summary>
public static class Metrics
{
    public const string Path = "/metrics";

    /// <summary>A silo without the gateway: <c>/metrics</c> alone on <c>silo.metricsPort</c> (open, like the silo's own
    /// ports: keep it on the cluster's private network; the figures carry no customer data).</summary>
    public static WebApplicationBuilder AddCrmSiloMetrics(this WebApplicationBuilder builder, CrmSettings settings)
    {
        var address = settings.Silo.ListenOnAnyAddress ? "0.0.0.0" : settings.Silo.AdvertisedAddress;
        builder.WebHost.UseUrls($"http://{address}:{settings.Silo.MetricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        return builder.AddCrmMetrics();
    }

    public static WebApplicationBuilder AddCrmMetrics(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter("Microsoft.Orleans", "OrleansCrm")
            .AddAspNetCoreInstrumentation()
            .AddRuntimeInstrumentation()
            .AddPrometheusExporter());
        return builder;
    }
}
