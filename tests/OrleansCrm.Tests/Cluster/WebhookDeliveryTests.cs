using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using OrleansCrm.Campaigns;
using OrleansCrm.Catalog;
using OrleansCrm.Decisions;
using OrleansCrm.Tests.Support;

namespace OrleansCrm.Tests.Cluster;

/// <summary>The webhook sender on real storage: a batch of actions reaches a real local receiver several at once,
/// signed, a refused delivery comes again with the same key, and every action ends delivered.</summary>
public abstract class WebhookDeliveryTests(StorageClusterFixture fixture)
{
    private const string Secret = "webhook-secret-batch-0123456789";

    private TestCluster Cluster => fixture.Cluster;

    private async Task PutWebhookAsync(WebhookSettings settings) =>
        await Cluster.Client.GetGrain<ICatalogGrain>(CatalogKinds.Webhook).PutAsync(JsonSerializer.Serialize(settings, DecisionJson.Options), null);

    private async Task<List<CampaignAction>> ActionsAsync(string campaignId) =>
        [.. (await Cluster.Client.GetGrain<ICampaignFeedGrain>(0).ReadAsync(FeedCursor.Start, 200, campaignId)).Actions];

    [Fact]
    public async Task A_batch_of_webhook_actions_is_sent_several_at_once_and_a_refused_one_is_retried_with_its_key()
    {
        var run = "wb" + Guid.NewGuid().ToString("N")[..6];
        const int Count = 40;
        var port = Ports.Free();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/hook/");
        listener.Start();
        var received = new ConcurrentQueue<(string Key, bool Accepted, bool SignatureValid)>();
        var inFlight = 0;
        var mostInFlight = 0;
        var together = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();

        async Task AnswerAsync(HttpListenerContext context)
        {
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var key = context.Request.Headers["Idempotency-Key"] ?? "";
            if (!key.StartsWith(run + "/", StringComparison.Ordinal))
            {
                // Another test's action, pushed because the webhook is the cluster's.
                context.Response.StatusCode = 200;
                context.Response.Close();
                return;
            }

            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref mostInFlight, now);
            if (now >= 4)
            {
                together.TrySetResult();
            }

            // Each of ours is held until several are in flight together (or, for a sender that sends one at a time,
            // until the wait gives up), so the receiver sees whether the batch's POSTs overlap.
            await together.Task.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
            Interlocked.Decrement(ref inFlight);
            var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(body)));

            // Every fifth action is refused the first time: it must come again, with the same key.
            var index = int.Parse(key[(key.LastIndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            var accept = index % 5 != 0 || received.Any(r => r.Key == key);
            received.Enqueue((key, accept, context.Request.Headers["X-Crm-Signature"] == expected));
            context.Response.StatusCode = accept ? 200 : 503;
            context.Response.Close();
        }

        var receiver = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var context = await listener.GetContextAsync().WaitAsync(stop.Token);
                _ = Task.Run(() => AnswerAsync(context));
            }
        });

        try
        {
            var store = Cluster.GetActiveSilos().OfType<InProcessSiloHandle>().First().SiloHost!.Services.GetRequiredService<ICampaignActionStore>();
            for (var i = 0; i < Count; i++)
            {
                await store.AddAsync(new CampaignAction(0, $"{run}/s/c-{i}", run, "s", $"{run}-c-{i}", "email", "Hi", $"Body {i}", false, null, DateTimeOffset.UtcNow, "pending"));
            }

            await PutWebhookAsync(new WebhookSettings($"http://127.0.0.1:{port}/hook/", Secret));
            await Cluster.Client.GetGrain<IWebhookDeliveryGrain>(0).EnsureRunningAsync();

            var delivered = await Poll.UntilAsync(
                async () => await ActionsAsync(run) is { Count: Count } all && all.All(a => a.DeliveryState == "delivered") ? all : null,
                TimeSpan.FromSeconds(90),
                "every action delivered");

            var keys = Enumerable.Range(0, Count).Select(i => $"{run}/s/c-{i}").ToArray();
            Assert.Equal(keys.Order(StringComparer.Ordinal), received.Where(r => r.Accepted).Select(r => r.Key).Distinct().Order(StringComparer.Ordinal));
            Assert.All(received, r => Assert.True(r.SignatureValid, r.Key));
            var refused = received.Where(r => !r.Accepted).Select(r => r.Key).ToList();
            Assert.Equal(keys.Where((_, i) => i % 5 == 0).Order(StringComparer.Ordinal), refused.Order(StringComparer.Ordinal));
            Assert.True(mostInFlight > 1, $"at most {mostInFlight} POST in flight at once");
            Assert.Equal(Count, delivered.Count);
        }
        finally
        {
            await PutWebhookAsync(new WebhookSettings(null, null, Enabled: false));
            await stop.CancelAsync();
            listener.Stop();
            await receiver.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen)
        {
            var was = Interlocked.CompareExchange(ref target, value, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }
}

[Collection(SqliteClusterCollection.Name)]
public sealed class SqliteWebhookDeliveryTests(SqliteClusterFixture fixture) : WebhookDeliveryTests(fixture);

[Collection(PostgresClusterCollection.Name)]
public sealed class PostgresWebhookDeliveryTests(PostgresClusterFixture fixture) : WebhookDeliveryTests(fixture);
