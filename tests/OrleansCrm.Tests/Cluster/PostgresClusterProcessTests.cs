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
        using var http = TestAuth.AdminClient(TimeSpan.FromSeconds(30));
        await using var cluster = await ProcessCluster.StartAsync(pg, http, silos: 2, "pg");
        var (clusterId, gateway, silo1, silo2) = (cluster.ClusterId, cluster.Gateway, cluster.Silos[0], cluster.Silos[1]);

        var ids = Enumerable.Range(0, 40).Select(i => $"{clusterId}-cust-{i}").ToArray();
        foreach (var id in ids)
        {
            // A PUT is idempotent and a client retries a 504 (outcome unknown): the first calls of a fresh cluster
            // can outlast the 5 s call timeout while both silos load their catalogs on a busy machine.
            await Poll.UntilAsync(
                async () =>
                {
                    using var put = await http.PutCustomerAsync(gateway.Http!, id, new { firstName = "F" + id });
                    Assert.True(put.StatusCode is HttpStatusCode.OK or HttpStatusCode.GatewayTimeout, $"PUT {id}: {put.StatusCode}");
                    return put.StatusCode == HttpStatusCode.OK ? (object)true : null;
                },
                TimeSpan.FromSeconds(60),
                $"PUT {id} answered 200");
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
    }
}
