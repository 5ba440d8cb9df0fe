using OrleansCrm.Hosting.Configuration;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Configuration;

public sealed class ClusterConfigurationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("crm-config-").FullName;

    private const string Valid = """
        {
          "clusterId": "crm-a",
          "serviceId": "crm",
          "storage": { "kind": "sqlite", "connectionString": "Data Source=data/x.db" },
          "silo": { "siloPort": 12000, "gatewayPort": 32000 },
          "gateway": { "urls": "http://127.0.0.1:6000" },
          "log": { "level": "Debug" }
        }
        """;

    [Fact]
    public void The_shipped_cluster_json_starts_a_single_node_on_sqlite_beside_it()
    {
        var settings = CrmConfiguration.Load(["--config", Path.Combine(Repo.Root, "cluster.json")]);

        Assert.Equal(StorageKind.Sqlite, settings.Storage.Kind);
        Assert.Contains($"Data Source={Path.Combine(Repo.Root, "data", "crm.db")}", settings.Storage.ConnectionString, StringComparison.Ordinal);
        Assert.True(settings.Silo.HostGateway);
        Assert.Equal("http://127.0.0.1:5080", settings.Gateway.Urls);
    }

    [Fact]
    public void Command_line_switches_override_the_file()
    {
        var path = Write(Valid);

        var settings = CrmConfiguration.Load(["--config", path, "--silo:siloPort=12001", "--silo:hostGateway=false", "--log:slowRequestMs=250"]);

        Assert.Equal(12001, settings.Silo.SiloPort);
        Assert.False(settings.Silo.HostGateway);
        Assert.Equal(32000, settings.Silo.GatewayPort);
        Assert.Equal(Serilog.Events.LogEventLevel.Debug, settings.Log.Level);
        Assert.False(settings.Log.EveryRequest);
        Assert.Equal(250, settings.Log.SlowRequestMs);
    }

    [Theory]
    [InlineData("\"kind\": \"sqlite\"", "\"kind\": \"mysql\"", "storage.kind: must be \"sqlite\" or \"postgres\", got \"mysql\"")]
    [InlineData("\"clusterId\": \"crm-a\",", "", "clusterId: is missing")]
    [InlineData("\"clusterId\": \"crm-a\"", "\"clusterId\": \"crm a!\"", "clusterId: must be 1-100 letters")]
    [InlineData("\"siloPort\": 12000", "\"siloPort\": 70000", "silo.siloPort: must be a whole number from 1 to 65535, got \"70000\"")]
    [InlineData("\"gatewayPort\": 32000", "\"gatewayPort\": 12000", "silo.gatewayPort: must differ from silo.siloPort")]
    [InlineData("\"storage\":", "\"storge\":", "storge: unknown key")]
    [InlineData("\"level\": \"Debug\"", "\"level\": \"Loud\"", "log.level: must be one of")]
    [InlineData("\"urls\": \"http://127.0.0.1:6000\"", "\"urls\": \"ftp://x\"", "gateway.urls: must be http:// or https:// URLs")]
    [InlineData("\"kind\": \"sqlite\", \"connectionString\": \"Data Source=data/x.db\"", "\"kind\": \"postgres\"", "storage.connectionString: is required when storage.kind is \"postgres\"")]
    [InlineData("\"connectionString\": \"Data Source=data/x.db\"", "\"connectionString\": \"Data Source=:memory:\"", "storage.connectionString: must name a database file")]
    [InlineData("\"siloPort\": 12000,", "\"siloPort\": 12000,,", "not valid JSON at line 5")]
    [InlineData("\"siloPort\": 12000", "\"siloPort\": 12000, \"probeTimeoutSeconds\": 0", "silo.probeTimeoutSeconds: must be a whole number from 1 to 60, got \"0\"")]
    public void A_broken_file_is_reported_in_one_line_naming_the_key(string find, string replace, string expected)
    {
        var path = Write(Valid.Replace(find, replace, StringComparison.Ordinal));

        var problem = Assert.Throws<ConfigurationProblemException>(() => CrmConfiguration.Load(["--config", path]));

        Assert.StartsWith("cluster.json: ", problem.Message, StringComparison.Ordinal);
        Assert.Contains(expected, problem.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', problem.Message);
    }

    [Fact]
    public void A_missing_file_names_the_path_it_looked_for()
    {
        var path = Path.Combine(_folder, "nowhere", "cluster.json");

        var problem = Assert.Throws<ConfigurationProblemException>(() => CrmConfiguration.Load(["--config", path]));

        Assert.Contains(path, problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_override_is_named_like_a_file_key()
    {
        var path = Write(Valid);

        var problem = Assert.Throws<ConfigurationProblemException>(() => CrmConfiguration.Load(["--config", path, "--silo:hostGateway=maybe"]));

        Assert.Equal("cluster.json: silo.hostGateway: must be true or false, got \"maybe\"", problem.Message);
    }

    [Fact]
    public void A_silo_metrics_port_is_refused_on_a_silo_port_or_with_the_gateway_and_taken_otherwise()
    {
        var path = Write(Valid);

        var clash = Assert.Throws<ConfigurationProblemException>(() => CrmConfiguration.Load(["--config", path, "--silo:hostGateway=false", "--silo:metricsPort=32000"]));
        var hosted = Assert.Throws<ConfigurationProblemException>(() => CrmConfiguration.Load(["--config", path, "--silo:metricsPort=9464"]));
        var settings = CrmConfiguration.Load(["--config", path, "--silo:hostGateway=false", "--silo:metricsPort=9464"]);

        Assert.Equal("cluster.json: silo.metricsPort: must differ from silo.siloPort and silo.gatewayPort (both use 32000)", clash.Message);
        Assert.StartsWith("cluster.json: silo.metricsPort: is for silos with hostGateway false", hosted.Message, StringComparison.Ordinal);
        Assert.Equal(9464, settings.Silo.MetricsPort);
    }

    [Fact]
    public void A_dashboard_port_taken_by_the_api_is_refused_and_a_free_one_is_listened_on()
    {
        var path = Write(Valid);

        var problem = Assert.Throws<ConfigurationProblemException>(() => CrmConfiguration.Load(["--config", path, "--gateway:urls=http://127.0.0.1:5080", "--gateway:dashboardPort=5080"]));
        var settings = CrmConfiguration.Load(["--config", path, "--gateway:urls=http://127.0.0.1:5080", "--gateway:dashboardPort=5090"]);

        Assert.StartsWith("cluster.json: gateway.dashboardPort: must differ from the ports in gateway.urls", problem.Message, StringComparison.Ordinal);
        Assert.Equal(["http://127.0.0.1:5080", "http://127.0.0.1:5090"], settings.Gateway.ListenUrls);
    }

    [Fact]
    public void Silos_probe_each_other_every_2_s_unless_configured_otherwise()
    {
        var path = Write(Valid);

        var defaults = CrmConfiguration.Load(["--config", path]);
        var slower = CrmConfiguration.Load(["--config", path, "--silo:probeTimeoutSeconds=5"]);

        Assert.Equal(TimeSpan.FromSeconds(2), defaults.Silo.Probe);
        Assert.Equal(TimeSpan.FromSeconds(5), slower.Silo.Probe);
    }

    private string Write(string text)
    {
        var path = Path.Combine(_folder, "cluster.json");
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
