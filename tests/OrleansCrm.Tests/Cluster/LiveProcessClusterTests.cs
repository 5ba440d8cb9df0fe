using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Streams.Core;
using OrleansCrm.Customers;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>The live stream when the gateway is its own process (an Orleans client) on a PostgreSQL cluster.</summary>
public sealed class LiveProcessClusterTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_separate_gateway_streams_a_change_and_drops_its_subscription_when_the_screen_closes()
    {
        await using var pg = TestPostgres.Reserve();
        using var http = TestAuth.AdminClient(TimeSpan.FromSeconds(60));
        await using var cluster = await ProcessCluster.StartAsync(pg, http, silos: 1, "live");
        var id = $"{cluster.ClusterId}-watched";
        using (var put = await http.PutCustomerAsync(cluster.Http, id, new { firstName = "Grace" }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        // An observer of the cluster's pub-sub, as an operator's tool would connect.
        using var observer = await cluster.ConnectClientAsync();
        var subscriptions = observer.Services.GetRequiredService<IStreamSubscriptionManagerAdmin>()
            .GetStreamSubscriptionManager(StreamSubscriptionManagerType.ExplicitSubscribeOnly);
        var streamId = StreamId.Create(CustomerLive.Namespace, id);
        async Task<int> CountAsync() => (await subscriptions.GetSubscriptions(StorageNames.Streams, streamId)).Count();

        await using (var live = await LiveStream.OpenAsync(http, cluster.Http, id))
        {
            await live.NextAsync("ready", Deadline);
            Assert.Equal(1, await CountAsync());

            var body = $$"""{ "eventId": "call-1", "type": "call.inbound", "occurredAt": "{{DateTimeOffset.UtcNow.AddMinutes(-1):O}}", "channel": "phone", "data": { "agent": "a-1" } }""";
            using var post = await http.PostAsync(new Uri(cluster.Http, $"/api/v1/customers/{id}/events"), new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);

            var (_, changed) = await live.NextAsync("changed", Deadline);
            Assert.Equal(id, changed.GetProperty("customerId").GetString());
            Assert.Contains("call.inbound", changed.GetProperty("eventTypes").EnumerateArray().Select(t => t.GetString()));
        }

        await Poll.UntilAsync(async () => await CountAsync() == 0, Deadline, "the closed stream's subscription to be removed");

        // A second screen subscribes afresh and also hears of changes.
        await using (var again = await LiveStream.OpenAsync(http, cluster.Http, id))
        {
            await again.NextAsync("ready", Deadline);
            using var put = await http.PutCustomerAsync(cluster.Http, id, new { lastName = "Hopper" });
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var (_, changed) = await again.NextAsync("changed", Deadline);
            Assert.Contains("profile.changed", changed.GetProperty("eventTypes").EnumerateArray().Select(t => t.GetString()));
        }

        await Poll.UntilAsync(async () => await CountAsync() == 0, Deadline, "the second stream's subscription to be removed");
    }
}
