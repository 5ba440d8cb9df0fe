using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Configuration;

/// <summary>What an operator sees when a node is started with a broken cluster.json.</summary>
public sealed class StartupErrorTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("crm-start-").FullName;

    [Theory]
    [InlineData("silo")]
    [InlineData("gateway")]
    public async Task A_broken_cluster_json_stops_the_process_with_one_line_naming_the_key(string program)
    {
        var path = Path.Combine(_folder, "cluster.json");
        File.WriteAllText(path, """{ "clusterId": "c", "serviceId": "s", "storage": { "kind": "oracle" } }""");
        var dll = program == "silo" ? Repo.SiloDll : Repo.GatewayDll;

        var (exitCode, stdout, stderr) = await CrmProcess.RunToExitAsync(dll, path, TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Equal("", stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.Equal("error: cluster.json: storage.kind: must be \"sqlite\" or \"postgres\", got \"oracle\"", line.TrimEnd());
    }

    [Fact]
    public async Task An_unreachable_database_stops_the_silo_with_one_line()
    {
        var port = Ports.Free();
        var path = Path.Combine(_folder, "cluster.json");
        File.WriteAllText(path, $$"""
            { "clusterId": "c", "serviceId": "s",
              "storage": { "kind": "postgres", "connectionString": "Host=127.0.0.1;Port={{port}};Username=nobody;Timeout=3" } }
            """);

        var (exitCode, stdout, stderr) = await CrmProcess.RunToExitAsync(Repo.SiloDll, path, TimeSpan.FromSeconds(60), "migrate");

        Assert.Equal(3, exitCode);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: storage: cannot reach PostgreSQL database", line, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}", line, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
