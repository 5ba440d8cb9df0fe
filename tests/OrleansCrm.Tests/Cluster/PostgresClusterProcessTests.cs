using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>The cluster an operator runs: separate silo processes and a gateway process on PostgreSQL.</summary>
public sealed class PostgresClusterProcessTests
{
    [Fact]
    public async Task Two_silos_and_a_gateway_form_one_cluster_that_keeps_answering_when_a_silo_stops()
    {
        await using var pg = TestPostgres.Reserve();
        var folder = Directory.CreateTempSubdirectory("crm-pgcluster-").FullName;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var clusterId = "pg-" + Guid.NewGuid().ToString("N")[..6];

        await using var silo1 = CrmProcess.Start(Repo.SiloDll, folder,
            TestConfig.Postgres(pg.ConnectionString, Ports.Free(), Ports.Free(), Ports.Free(), hostGateway: false, clusterId), "silo1");
        await using var silo2 = CrmProcess.Start(Repo.SiloDll, folder,
            TestConfig.Postgres(pg.ConnectionString, Ports.Free(), Ports.Free(), Ports.Free(), hostGateway: false, clusterId), "silo2");
        await using var gateway = CrmProcess.Start(Repo.GatewayDll, folder,
            TestConfig.Postgres(pg.ConnectionString, Ports.Free(), Ports.Free(), Ports.Free(), hostGateway: false, clusterId), "gateway");

        await gateway.WaitReadyAsync(http, TimeSpan.FromSeconds(120));
        await Poll.UntilAsync(
            async () => await pg.ScalarAsync<long>($"SELECT count(*) FROM orleansmembershiptable WHERE deploymentid = '{clusterId}' AND status = 3") == 2,
            TimeSpan.FromSeconds(60),
            "both silos to be active members of one cluster" + Environment.NewLine + silo1.Output + silo2.Output);

        var ids = Enumerable.Range(0, 40).Select(i => $"{clusterId}-cust-{i}").ToArray();
        foreach (var id in ids)
        {
            using var put = await http.PutCustomerAsync(gateway.Http!, id, new { firstName = "F" + id });
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        Assert.Equal(0, await silo1.StopAsync(TimeSpan.FromSeconds(60)));

        // The gateway keeps answering: every customer is served again by the remaining silo, with its data.
        foreach (var id in ids)
        {
            var view = await Poll.UntilAsync(
                async () =>
                {
                    using var response = await http.GetAsync(new Uri(gateway.Http!, $"/api/v1/customers/{id}"));
                    return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadFromJsonAsync<JsonElement?>() : null;
                },
                TimeSpan.FromSeconds(30),
                $"customer {id} after silo1 stopped");
            Assert.Equal("F" + id, view!.Value.GetProperty("firstName").GetString());
        }

        using var ready = await http.GetAsync(new Uri(gateway.Http!, "/health/ready"));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var write = await http.PutCustomerAsync(gateway.Http!, ids[0], new { lastName = "After" });
        Assert.Equal(HttpStatusCode.OK, write.StatusCode);
        Assert.False(silo2.HasExited);
        Directory.Delete(folder, recursive: true);
    }
}
