using OrleansCrm.Hosting;
using OrleansCrm.Hosting.Configuration;
using OrleansCrm.Hosting.Logging;
using OrleansCrm.Gateway.Hosting;

namespace OrleansCrm.Gateway;

/// <summary>A gateway on its own: an Orleans client that finds the silos through the cluster's database.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) => CrmProgram.RunAsync(args, async (settings, configPath, rest) =>
    {
        PortCheck.EnsureHttpPortsFree(settings);
        // The binary's folder as content root, as the silo does: the host watches it, and the working folder may be busy.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = rest, ContentRootPath = AppContext.BaseDirectory });
        builder.AddCrmSources(configPath, rest);
        builder.AddCrmLogging(settings, "gateway");
        builder.AddCrmClient(settings);
        builder.AddCrmGateway(settings);

        var app = builder.Build();
        app.MapCrmGateway(settings);
        await app.RunAsync();
        return 0;
    });
}
