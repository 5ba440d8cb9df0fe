using Microsoft.Extensions.Hosting;

namespace OrleansCrm.Hosting.Configuration;

public static class HostBuilderExtensions
{
    /// <summary>Layers cluster.json, CRM_ variables and switches over the host's configuration, in that order.</summary>
    public static IHostApplicationBuilder AddCrmSources(this IHostApplicationBuilder builder, string configPath, string[] args)
    {
        CrmConfiguration.AddCrmSources(builder.Configuration, configPath, args);
        return builder;
    }
}
