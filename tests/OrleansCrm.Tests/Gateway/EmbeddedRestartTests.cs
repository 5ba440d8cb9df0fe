using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Gateway;

public sealed class EmbeddedRestartTests
{
    [Fact]
    public async Task Data_written_before_a_stop_is_read_back_after_a_start()
    {
        var folder = Directory.CreateTempSubdirectory("crm-restart-").FullName;
        using var http = TestAuth.AdminClient(TimeSpan.FromSeconds(30));
        var config = TestConfig.Sqlite(Path.Combine(folder, "data", "crm.db"), Ports.Free(), Ports.Free(), Ports.Free());
        var ids = Enumerable.Range(0, 5).Select(i => $"restart-{i}").ToArray();

        await using (var first = CrmProcess.Start(Repo.SiloDll, folder, config, "first"))
        {
            await first.WaitReadyAsync(http, TimeSpan.FromSeconds(90));
            foreach (var id in ids)
            {
                using var put = await http.PutCustomerAsync(first.Http!, id, new { firstName = "Name " + id, email = $"{id}@example.com" });
                Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            }

            Assert.Equal(0, await first.StopAsync(TimeSpan.FromSeconds(60)));
        }

        await using (var second = CrmProcess.Start(Repo.SiloDll, folder, config, "second"))
        {
            await second.WaitReadyAsync(http, TimeSpan.FromSeconds(90));
            foreach (var id in ids)
            {
                var view = await http.GetFromJsonAsync<JsonElement>(new Uri(second.Http!, $"/api/v1/customers/{id}"));
                Assert.Equal("Name " + id, view.GetProperty("firstName").GetString());
                Assert.Equal($"{id}@example.com", view.GetProperty("emails")[0].GetString());
            }
        }

        Directory.Delete(folder, recursive: true);
    }
}

public sealed class SecondInstanceTests
{
    [Fact]
    public async Task A_second_node_on_the_same_ports_stops_with_one_line_and_leaves_the_first_running()
    {
        var folder = Directory.CreateTempSubdirectory("crm-twice-").FullName;
        using var http = TestAuth.AdminClient(TimeSpan.FromSeconds(30));
        var config = TestConfig.Sqlite(Path.Combine(folder, "data", "crm.db"), Ports.Free(), Ports.Free(), Ports.Free());
        await using var first = CrmProcess.Start(Repo.SiloDll, folder, config, "first");
        await first.WaitReadyAsync(http, TimeSpan.FromSeconds(90));
        var path = Path.Combine(folder, "first.cluster.json");

        var (exitCode, _, stderr) = await CrmProcess.RunToExitAsync(Repo.SiloDll, path, TimeSpan.FromSeconds(60));

        Assert.Equal(3, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("silo.siloPort", line, StringComparison.Ordinal);
        Assert.Contains("already in use", line, StringComparison.Ordinal);
        using var ready = await http.GetAsync(new Uri(first.Http!, "/health/ready"));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.False(first.HasExited);
    }
}
