using System.Net;
using System.Net.Http.Json;
using OrleansCrm.Access;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Access;

/// <summary>Every read of a customer leaves exactly one record in the audit trail, however many arrive at once: the
/// trail batches read records (and lets a batch of reads gather for a moment) but neither drops nor repeats one.</summary>
public sealed class AuditedReadsTests(AccessCrmFixture crm) : IClassFixture<AccessCrmFixture>
{
    [Fact]
    public async Task Each_of_many_concurrent_reads_is_recorded_once_with_its_request_id_and_the_caller()
    {
        const int Reads = 400;
        var customer = "audited-" + Guid.NewGuid().ToString("N")[..8];
        using (var put = await crm.Admin.PutAsJsonAsync(new Uri(crm.Gateway, $"/api/v1/customers/{customer}"), new { firstName = "Ada", orgUnit = "nl/north" }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        var (agentId, secret) = await crm.CreateKeyAsync("reading agent", "nl/north", Roles.Agent);
        using var agent = crm.KeyClient(secret);
        var ids = Enumerable.Range(0, Reads).Select(i => $"read-{customer}-{i}").ToArray();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (id, cancel) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/customers/{customer}");
            request.Headers.Add("X-Correlation-Id", id);
            using var response = await agent.SendAsync(request, cancel);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        });

        // Reads are answered once their record is queued; the records reach the trail right after.
        var recorded = await Poll.UntilAsync(
            async () =>
            {
                var reads = (await crm.AuditAsync($"&customerId={customer}"))
                    .Select(r => r.GetProperty("entry"))
                    .Where(e => e.GetProperty("action").GetString() == "GetCustomer")
                    .ToList();
                return reads.Count >= Reads ? reads : null;
            },
            TimeSpan.FromSeconds(30),
            $"{Reads} read records of {customer}");

        Assert.Equal(Reads, recorded!.Count);
        Assert.Equal(ids.Order(StringComparer.Ordinal), recorded.Select(e => e.GetProperty("requestId").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(recorded, e =>
        {
            Assert.Equal("key:" + agentId, e.GetProperty("actor").GetString());
            Assert.Equal(200, e.GetProperty("status").GetInt32());
            Assert.Equal("allowed", e.GetProperty("outcome").GetString());
        });
    }
}
