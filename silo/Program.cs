using OrleansCrm.Gateway.Hosting;
using OrleansCrm.Hosting;
using OrleansCrm.Hosting.Configuration;
using OrleansCrm.Hosting.Logging;
using OrleansCrm.Silo.Hosting;
using OrleansCrm.Silo.Storage;

namespace OrleansCrm.Silo;

/// <summary>
/// <c>run</c> (the default): apply the schema, then host a silo and, unless <c>silo.hostGateway</c> is false, the
/// HTTP gateway in the same process. <c>migrate</c>: apply the schema and exit. <c>create-admin --login NAME</c>: make
/// the first administrator, the password read from standard input.
/// </summary>
public static class Program
{
    public static Task<int> Main(string[] args) => CrmProgram.RunAsync(args, async (settings, configPath, rest) =>
    {
        var verb = rest.Length > 0 && !rest[0].StartsWith('-') ? rest[0] : "run";
        var hostArgs = verb == "run" && rest.Length > 0 && rest[0] == "run" ? rest[1..] : rest;
        switch (verb)
        {
            case "migrate":
                var result = await SchemaMigrator.MigrateAsync(settings.Storage);
                await Console.Out.WriteLineAsync($"schema up to date on {settings.Storage.Kind}: {result.Applied} script(s) applied, {result.AlreadyPresent} already present");
                return 0;
            case "create-admin":
                return await Administrators.CreateFromCommandLineAsync(settings, rest[1..], Console.In, Console.Out);
            case "run":
                PortCheck.EnsureSiloPortsFree(settings);
                if (settings.Silo.HostGateway)
                {
                    PortCheck.EnsureHttpPortsFree(settings);
                }

                await SchemaMigrator.MigrateAsync(settings.Storage);
                await Administrators.EnsureInitialAsync(settings, Console.Out);
                await RunAsync(settings, configPath, hostArgs);
                return 0;
            default:
                throw new ConfigurationProblemException($"command line: unknown command \"{verb}\" (use run, migrate or create-admin)");
        }
    });

    private static async Task RunAsync(CrmSettings settings, string configPath, string[] args)
    {
        if (settings.Silo.HostGateway || settings.Silo.MetricsPort != 0)
        {
            // A web host: the whole gateway, or (without it) only /metrics, so Prometheus scrapes this silo's grain
            // calls, activations and storage.
            // The content root is the binary's folder, not the working folder: the host watches its content root for
            // configuration changes, and the working folder holds the SQLite file, whose every write would wake it.
            var web = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
            web.AddCrmSources(configPath, args);
            web.AddCrmLogging(settings, settings.Silo.HostGateway ? "silo+gateway" : "silo");
            web.AddCrmSilo(settings);
            if (settings.Silo.HostGateway)
            {
                web.AddCrmGateway(settings);
            }
            else
            {
                web.AddCrmSiloMetrics(settings);
            }

            var app = web.Build();
            if (settings.Silo.HostGateway)
            {
                app.MapCrmGateway(settings);
            }
            else
            {
                app.MapPrometheusScrapingEndpoint(Metrics.Path);
            }

            await app.RunAsync();
            return;
        }

        var builder = Host.CreateApplicationBuilder(args);
        builder.AddCrmSources(configPath, args);
        builder.AddCrmLogging(settings, "silo");
        builder.AddCrmSilo(settings);
        await builder.Build().RunAsync();
    }
}
