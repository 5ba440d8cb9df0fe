using Microsoft.Extensions.Hosting;
namespace OrleansCrm.Tests.Support;

/// <summary>
/// A PostgreSQL cluster of real processes, as an operator runs it: silos without HTTP and one gateway process, each
/// with its own cluster.json in a temporary folder. Disposing stops every process and deletes the folder.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private readonly List<CrmProcess> _processes = [];
    private readonly Dictionary<CrmProcess, int> _siloPorts = [];

    private readonly Action<string, System.Text.Json.Nodes.JsonObject>? _configure;

    private ProcessCluster(TestPostgres pg, string clusterId, Action<string, System.Text.Json.Nodes.JsonObject>? configure)
    {
        _configure = configure;
        Postgres = pg;
        ClusterId = clusterId;
        Folder = Directory.CreateTempSubdirectory($"crm-{clusterId}-").FullName;
    }

    public TestPostgres Postgres { get; }

    public string ClusterId { get; }

    public string Folder { get; }

    public CrmProcess Gateway { get; private set; } = null!;

    public Uri Http => Gateway.Http!;

    /// <summary>The silo processes, in the order they were started.</summary>
    public IReadOnlyList<CrmProcess> Silos => [.. _processes.Where(p => p.Name.StartsWith("silo", StringComparison.Ordinal))];

    /// <summary>Starts <paramref name="silos"/> silos and a gateway, and waits until the gateway is ready and every
    /// silo is an active member. <paramref name="configure"/> may change each process's cluster.json (given the
    /// process's name: silo1…, gateway) before it starts.</summary>
    public static async Task<ProcessCluster> StartAsync(TestPostgres pg, HttpClient http, int silos, string prefix, Action<string, System.Text.Json.Nodes.JsonObject>? configure = null)
    {
        var cluster = new ProcessCluster(pg, prefix + "-" + Guid.NewGuid().ToString("N")[..6], configure);
        for (var i = 1; i <= silos; i++)
        {
            cluster.StartSilo($"silo{i}");
        }

        cluster.Gateway = cluster.Track(CrmProcess.Start(Repo.GatewayDll, cluster.Folder, cluster.Config("gateway"), "gateway"));
        await cluster.Gateway.WaitReadyAsync(http, TimeSpan.FromSeconds(120));
        await cluster.WaitActiveSilosAsync(silos);
        return cluster;
    }

    public CrmProcess StartSilo(string name)
    {
        var config = Config(name);
        var silo = Track(CrmProcess.Start(Repo.SiloDll, Folder, config, name));
        _siloPorts[silo] = config["silo"]!["siloPort"]!.GetValue<int>();
        return silo;
    }

    /// <summary>The silo-to-silo port <paramref name="silo"/> was given; its membership row and address carry it.</summary>
    public int SiloPort(CrmProcess silo) => _siloPorts[silo];

    /// <summary>What the membership table says of <paramref name="silo"/>'s latest generation (3 active, 4 shutting
    /// down, 6 dead), or null before it has written a row.</summary>
    public async Task<int?> MembershipStatusAsync(CrmProcess silo) => await Postgres.ScalarAsync<int?>(
        $"SELECT status FROM orleansmembershiptable WHERE deploymentid = '{ClusterId}' AND port = {SiloPort(silo)} ORDER BY generation DESC LIMIT 1");

    public async Task WaitActiveSilosAsync(int count) => await Poll.UntilAsync(
        async () => await Postgres.ScalarAsync<long>($"SELECT count(*) FROM orleansmembershiptable WHERE deploymentid = '{ClusterId}' AND status = 3") == count,
        TimeSpan.FromSeconds(60),
        $"{count} active silos" + Environment.NewLine + string.Join(Environment.NewLine, _processes.Select(p => p.Output)));

    /// <summary>An Orleans client of this cluster, for what a test must ask the cluster itself (where a grain lives,
    /// a stream's subscriptions).</summary>
    public async Task<Microsoft.Extensions.Hosting.IHost> ConnectClientAsync()
    {
        var host = Microsoft.Extensions.Hosting.Host.CreateDefaultBuilder()
            .UseOrleansClient(client =>
            {
                client.Configure<Orleans.Configuration.ClusterOptions>(o =>
                {
                    o.ClusterId = ClusterId;
                    o.ServiceId = "orleans-crm-test";
                });
                client.UseAdoNetClustering(o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = Postgres.ConnectionString;
                });
                client.AddMemoryStreams(OrleansCrm.StorageNames.Streams);
            })
            .Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>The last <paramref name="lines"/> lines each process wrote, for a failing test's output.</summary>
    public string LogTails(int lines) => string.Join(
        Environment.NewLine,
        _processes.Select(p => $"--- {p.Name}{(p.HasExited ? $" (exited {p.ExitCode})" : "")}:{Environment.NewLine}" +
            string.Join(Environment.NewLine, p.Output.Split('\n').TakeLast(lines))));

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        Directory.Delete(Folder, recursive: true);
    }

    private System.Text.Json.Nodes.JsonObject Config(string name)
    {
        var config = TestConfig.Postgres(Postgres.ConnectionString, Ports.Free(), Ports.Free(), Ports.Free(), hostGateway: false, ClusterId);
        _configure?.Invoke(name, config);
        return config;
    }

    private CrmProcess Track(CrmProcess process)
    {
        _processes.Add(process);
        return process;
    }
}
