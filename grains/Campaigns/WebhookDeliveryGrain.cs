using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansCrm.Catalog;
using OrleansCrm.Decisions;

namespace OrleansCrm.Campaigns;

/// <summary>
/// The webhook sender: each tick takes up to 100 due actions, POSTs them 16 at a time and records the batch's results
/// in one statement. Delivery is at least once: an action whose POST succeeded but whose "delivered" mark was lost
/// in a crash is sent again, with the same <c>Idempotency-Key</c>, so the receiver can drop the repeat. Actions
/// themselves are emitted once (docs/campaigns.md).
/// </summary>
[GrainType("webhook-delivery")]
public sealed class WebhookDeliveryGrain(ICampaignActionStore store, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<WebhookDeliveryGrain> logger) : Grain, IWebhookDeliveryGrain, IRemindable
{
    public const int MaxAttempts = 10;
    private const int Batch = 100;

    /// <summary>POSTs of one batch in flight at once.</summary>
    private const int Concurrency = 16;
    private static readonly HttpClient Http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(10) };
    private IGrainTimer? _timer;

    public async Task EnsureRunningAsync()
    {
        await this.RegisterOrUpdateReminder("keep-alive", TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        _timer ??= this.RegisterGrainTimer(cancellation => lifetime.RunUnlessStoppingAsync(() => SendDueAsync(cancellation), logger, "Webhook delivery"), new GrainTimerCreationOptions(TimeSpan.Zero, TimeSpan.FromSeconds(1)) { KeepAlive = true });
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => EnsureRunningAsync();

    private async Task SendDueAsync(CancellationToken cancellation)
    {
        var document = await GrainFactory.GetGrain<ICatalogGrain>(CatalogKinds.Webhook).GetAsync();
        var settings = document.Version == 0 ? null : JsonSerializer.Deserialize<WebhookSettings>(document.Json, DecisionJson.Options);
        if (settings is not { Enabled: true, Url: { } url, Secret: { } secret })
        {
            return;
        }

        var due = await store.DueForDeliveryAsync(clock.GetUtcNow(), Batch);
        if (due.Count == 0)
        {
            return;
        }

        // The batch's POSTs go out a bounded number at a time, on this activation's scheduler (each send awaits the
        // network, not the grain). The timer's cancellation reaches the sends only, never the loop, so every attempt is
        // recorded: a send cut short as the grain goes away is a failed attempt, retried like any other.
        var results = new DeliveryAttempt[due.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, due.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Concurrency, TaskScheduler = TaskScheduler.Current },
            async (i, _) =>
            {
                var (action, attempts) = due[i];
                var error = await PostAsync(url, secret, action, cancellation);
                results[i] = Attempt(action.Sequence, attempts + 1, error, clock.GetUtcNow());
            });

        // One round trip for the whole batch. If it is lost, the batch is sent again with the same keys: at least once.
        await store.RecordDeliveriesAsync(results);
    }

    private static async Task<string?> PostAsync(string url, string secret, CampaignAction action, CancellationToken cancellation)
    {
        var body = JsonSerializer.Serialize(action, DecisionJson.Options);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", action.IdempotencyKey);
        request.Headers.Add("X-Crm-Signature", "sha256=" + Sign(secret, body));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("OrleansCrm", "1"));
        try
        {
            using var response = await Http.SendAsync(request, cancellation);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return e.Message;
        }
    }

    /// <summary>Delivered; or pending again after a backoff of 2 s doubling per attempt (at most an hour); or failed
    /// for good after <see cref="MaxAttempts"/>.</summary>
    private DeliveryAttempt Attempt(long sequence, int tried, string? error, DateTimeOffset now)
    {
        if (error is null)
        {
            return new DeliveryAttempt(sequence, "delivered", tried, null, now, null);
        }

        var retryIn = TimeSpan.FromSeconds(Math.Min(3600, 2 * Math.Pow(2, tried - 1)));
        logger.LogWarning("Webhook delivery of action {Sequence} failed (attempt {Attempt}): {Error}", sequence, tried, error);
        return tried >= MaxAttempts
            ? new DeliveryAttempt(sequence, "failed", tried, null, null, error)
            : new DeliveryAttempt(sequence, "pending", tried, now + retryIn, null, error);
    }

    /// <summary>Lower-case hex HMAC-SHA256 of the body, as receivers recompute it.</summary>
    public static string Sign(string secret, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));
}
