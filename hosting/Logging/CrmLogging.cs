using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansCrm.Hosting.Configuration;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace OrleansCrm.Hosting.Logging;

public static class CrmLogging
{
    /// <summary>
    /// Routes every log of the process (Orleans, ASP.NET Core, ours) through Serilog, structured,
    /// at the levels cluster.json asks for.
    /// </summary>
    public static IHostApplicationBuilder AddCrmLogging(this IHostApplicationBuilder builder, CrmSettings settings, string role)
    {
        builder.Services.AddSerilog(config => Configure(config, settings.Log, role));
        return builder;
    }

    public static LoggerConfiguration Configure(LoggerConfiguration config, LogSettings log, string role)
    {
        config
            .MinimumLevel.Is(log.Level)
            .MinimumLevel.Override("Orleans", log.OrleansLevel)
            .MinimumLevel.Override("Microsoft", Max(log.Level, LogEventLevel.Warning))
            .MinimumLevel.Override("Microsoft.Hosting.Lifetime", log.Level)
            .MinimumLevel.Override("System", Max(log.Level, LogEventLevel.Warning))
            // Orleans drives its placement through Polly, which logs every attempt at Information.
            .MinimumLevel.Override("Polly", Max(log.Level, LogEventLevel.Warning))
            .Enrich.FromLogContext()
            .Enrich.WithProperty("Role", role);

        return log.Json
            ? config.WriteTo.Console(new CompactJsonFormatter())
            : config.WriteTo.Console(
                outputTemplate: "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {Role} {SourceContext}: {Message:lj}{NewLine}{Exception}",
                formatProvider: System.Globalization.CultureInfo.InvariantCulture);
    }

    private static LogEventLevel Max(LogEventLevel a, LogEventLevel b) => a > b ? a : b;
}
